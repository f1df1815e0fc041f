import { test, expect, type Page } from '@playwright/test';
import { createViaApi, hydrated, signIn, uniqueName } from './helpers';

/** Collects every Content-Security-Policy violation the page reports. */
async function watchViolations(page: Page): Promise<string[]> {
  const seen: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) seen.push(msg.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return seen;
}

test('pages run under a strict CSP with no violation, and hydrate', async ({ page, request }) => {
  const violations = await watchViolations(page);
  const res = await page.goto('/sign-in');
  const csp = res?.headers()['content-security-policy'] ?? '';
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/_-]+=*' 'wasm-unsafe-eval'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res?.headers()['x-content-type-options']).toBe('nosniff');
  expect(res?.headers()['referrer-policy']).toBe('same-origin');
  await hydrated(page);

  await signIn(page);
  const id = await createViaApi(request, uniqueName('csp'));
  await page.goto(`/workstations/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('timeline')).toContainText('Queued for provisioning');
  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await hydrated(page);
  expect(violations).toEqual([]);

  // Each response has its own nonce.
  const again = await request.get('/sign-in');
  expect(again.headers()['content-security-policy']).not.toBe(csp);
});

test('the API reference works under its own policy', async ({ page, request }) => {
  const violations = await watchViolations(page);
  await page.goto('/docs/api/');
  await expect(page.getByText('/v1/workstations').first()).toBeVisible({ timeout: 15_000 });
  expect(violations).toEqual([]);
  const api = await request.get('/v1/catalog');
  expect(api.headers()['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
});
