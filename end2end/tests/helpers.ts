import { expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The API token serve.sh created for a test user. */
export function token(user: 'e2e' | 'other' = 'e2e'): string {
  const file = user === 'e2e' ? 'token' : 'token-other';
  return readFileSync(join(__dirname, '..', '.state', file), 'utf8').trim();
}

/** A name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Waits until the page has hydrated (the app marks <body>). */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Signs in through the sign-in page and lands on the home page. */
export async function signIn(page: Page, user: 'e2e' | 'other' = 'e2e', js = true): Promise<void> {
  await signInWith(page, token(user), user, js);
}

/** Signs in with a given token as `user`. */
export async function signInWith(page: Page, apiToken: string, user: string, js = true): Promise<void> {
  await page.goto('/sign-in');
  if (js) await hydrated(page);
  await page.getByLabel('API token').fill(apiToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('signed-in-user')).toHaveText(user);
  if (js) await hydrated(page);
}

/** The "New workstation" form on the home page. */
export function newForm(page: Page) {
  return page.getByRole('region', { name: 'New workstation' });
}
