import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The users serve.sh creates; `fresh` never gets a workstation, `boss` is
 * an admin of the instance, `gone` is disabled and enabled by the admin test. */
export type User = 'e2e' | 'other' | 'fresh' | 'boss' | 'gone';

/** The API token serve.sh created for a test user. */
export function token(user: User = 'e2e'): string {
  const file = user === 'e2e' ? 'token' : `token-${user}`;
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
export async function signIn(page: Page, user: User = 'e2e', js = true): Promise<void> {
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

/** Creates a workstation through the API and returns its id. */
export async function createViaApi(
  request: APIRequestContext,
  name: string,
  configuration: Record<string, unknown> = {},
): Promise<string> {
  const res = await request.post('/v1/workstations', {
    headers: { Authorization: `Bearer ${token()}` },
    data: {
      name,
      configuration: {
        cpuCores: 8,
        memoryGB: 32,
        gpu: 'NVIDIA L4',
        storageGB: 256,
        region: 'us-east-1',
        ...configuration,
      },
    },
  });
  expect(res.status()).toBe(201);
  return (await res.json()).id;
}

/** Sends an action (`cancel`, `launch`, …) to a workstation through the API. */
export async function actViaApi(request: APIRequestContext, id: string, action: string): Promise<void> {
  const res = await request.post(`/v1/workstations/${id}/${action}`, {
    headers: { Authorization: `Bearer ${token()}` },
  });
  expect(res.status()).toBe(202);
}
