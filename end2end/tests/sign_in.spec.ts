import { test, expect } from '@playwright/test';
import { hydrated, signIn, token } from './helpers';

test('the home page sends a visitor to sign in', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole('heading', { name: 'Atelier' })).toBeVisible();
});

test('a wrong token is refused with a message under the field', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('API token').fill('atl_notarealtokennotarealtokennotar');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#token-error')).toHaveText('That token is not valid: unknown, revoked or expired.');
  await expect(page.getByLabel('API token')).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/\/sign-in/);
});

test('signing in with a token shows the user, and signing out ends the session', async ({ page, context }) => {
  await signIn(page);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'atelier_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Strict');
  expect(session?.value).not.toContain(token());
  // The token never reaches page script.
  expect(await page.evaluate(() => document.cookie)).not.toContain('atelier_session');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
});
