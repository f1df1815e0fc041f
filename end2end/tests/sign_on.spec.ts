import { test, expect, type Page, type Browser } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hydrated, signIn, uniqueName } from './helpers';

// Single sign-on against a real OpenID provider (end2end/oidc-provider.mjs,
// panva's oidc-provider), started by playwright.config.ts.
const oidcPort = process.env.ATELIER_E2E_OIDC_PORT;
const issuer = `http://127.0.0.1:${oidcPort}`;
test.skip(!oidcPort, 'needs the test OpenID provider (scripts/e2e.sh starts it)');

/** Logs in on the provider's own pages, consenting if it asks. */
async function providerLogin(page: Page, login: string): Promise<void> {
  await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Signs in with the provider as `login`, from a fresh browser context. */
async function signOnFresh(browser: Browser, baseURL: string, login: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await page.goto('/sign-in');
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await providerLogin(page, login);
  return { context, page };
}

test('a new user signs in through the provider and lands on the home page', async ({ browser, baseURL }) => {
  const login = uniqueName('sso');
  const { context, page } = await signOnFresh(browser, baseURL!, login);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('signed-in-user')).toHaveText(login);
  await hydrated(page);
  // Signed out and in again: the same user, and the provider remembers the login.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await expect(page.getByTestId('signed-in-user')).toHaveText(login);
  await context.close();
});

test('a forged state and a replayed code are refused with a clear message', async ({ browser, baseURL, page }) => {
  await page.goto('/auth/oidc/callback?code=made-up&state=forged');
  await expect(page).toHaveURL(/\/sign-in\?error=state$/);
  await expect(page.getByTestId('sign-on-error')).toContainText('does not match one begun in this browser');

  // A code the provider gave once is refused the second time.
  const context = await browser.newContext({ baseURL });
  const tab = await context.newPage();
  let used = '';
  tab.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === '/auth/oidc/callback' && !used) used = url.searchParams.get('code') ?? '';
  });
  await tab.goto('/sign-in');
  await tab.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await providerLogin(tab, uniqueName('replay'));
  await expect(tab.getByTestId('signed-in-user')).toBeVisible();
  expect(used).not.toBe('');
  // A second sign-in begun in this browser (its state and cookie), finished with the first code.
  const begun = await context.request.get('/auth/oidc/start', { maxRedirects: 0 });
  expect(begun.status()).toBe(303);
  const state = new URL(begun.headers()['location']).searchParams.get('state');
  await tab.goto(`/auth/oidc/callback?code=${encodeURIComponent(used)}&state=${encodeURIComponent(state!)}`);
  await expect(tab).toHaveURL(/\/sign-in\?error=code$/);
  await expect(tab.getByTestId('sign-on-error')).toContainText('used already or has expired');
  await context.close();
});

test('someone outside the allowed groups is refused', async ({ browser, baseURL }) => {
  const { context, page } = await signOnFresh(browser, baseURL!, uniqueName('contractor'));
  await expect(page).toHaveURL(/\/sign-in\?error=group$/);
  await expect(page.getByTestId('sign-on-error')).toHaveText('You are in none of the groups allowed to sign in here.');
  await context.close();
});

test('a disabled user cannot sign in through the provider', async ({ browser, baseURL, page }) => {
  const login = uniqueName('leaver');
  const first = await signOnFresh(browser, baseURL!, login);
  await expect(first.page.getByTestId('signed-in-user')).toHaveText(login);
  await first.context.close();

  await signIn(page, 'boss');
  await page.goto('/admin');
  await hydrated(page);
  await page.getByRole('button', { name: `Disable ${login}` }).click();
  await expect(page.locator(`[data-testid="user-row"][data-name="${login}"]`)).toHaveAttribute('data-disabled', 'true');

  const again = await signOnFresh(browser, baseURL!, login);
  await expect(again.page).toHaveURL(/\/sign-in\?error=disabled$/);
  await expect(again.page.getByTestId('sign-on-error')).toHaveText('Your account is disabled. Ask an administrator.');
  await again.context.close();
});

// The provider's other clients, each behind a server of its own.
const bin = process.env.ATELIER_BIN ?? '';
const siteRoot = process.env.ATELIER_SITE_ROOT ?? '';

async function startServer(port: string, clientId: string): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'atelier-sso-'));
  const child = spawn(
    bin,
    ['--database', `sqlite://${dir}/sso.db`, 'serve', '--addr', `127.0.0.1:${port}`, '--site-root', siteRoot,
      '--no-demo-user', '--oidc-issuer', issuer, '--oidc-client-id', clientId,
      '--oidc-client-secret', 'atelier-test-secret', '--oidc-provider-name', 'Test IdP'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/sign-in`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the server did not start');
}

for (const [what, portVar, clientId, code, words] of [
  ['an expired ID token', 'ATELIER_E2E_OIDC_EXPIRED_PORT', 'atelier-expired', 'token-expired', 'has expired'],
  ['an ID token for another audience too', 'ATELIER_E2E_OIDC_AUDIENCE_PORT', 'atelier-audience', 'audience', 'wrong audience'],
  ['an ID token for another application', 'ATELIER_E2E_OIDC_FOREIGN_PORT', 'atelier-foreign', 'audience', 'wrong audience'],
] as const) {
  test(`${what} is refused with a clear message`, async ({ browser }) => {
    const port = process.env[portVar];
    test.skip(!bin || !siteRoot || !port, 'needs ATELIER_BIN, ATELIER_SITE_ROOT and the port (scripts/e2e.sh)');
    const server = await startServer(port!, clientId);
    try {
      const { context, page } = await signOnFresh(browser, `http://127.0.0.1:${port}`, uniqueName('tok'));
      await expect(page).toHaveURL(new RegExp(`/sign-in\\?error=${code}$`));
      await expect(page.getByTestId('sign-on-error')).toContainText(words);
      await context.close();
    } finally {
      server.kill('SIGTERM');
    }
  });
}
