import { test, expect } from '@playwright/test';
import { actViaApi, createViaApi, hydrated, newForm, signIn, uniqueName } from './helpers';

test('an empty list invites to create the first workstation', async ({ page }) => {
  await signIn(page, 'fresh');
  const empty = page.getByTestId('empty-list');
  await expect(empty).toContainText('No workstations yet.');
  await expect(empty).toContainText('Create your first one');
});

test('the form sums up the request as it is typed', async ({ page }) => {
  await signIn(page);
  const summary = newForm(page).getByTestId('summary');
  await expect(summary).toContainText('Unnamed: 8 vCPUs, 32 GB memory, 256 GB storage');
  await newForm(page).getByLabel('Name').fill('summary-check');
  await newForm(page).getByLabel('CPU cores').fill('16');
  await newForm(page).getByLabel('GPU').selectOption('NVIDIA A100 80GB');
  await newForm(page).getByLabel('Region').selectOption('eu-west-1');
  await expect(summary).toHaveText(
    /summary-check: 16 vCPUs, 32 GB memory, 256 GB storage, NVIDIA A100 80GB \(80 GB\) in Europe/,
  );
});

test('a finished job shows a toast that screen readers hear', async ({ page, request }) => {
  await signIn(page);
  const name = uniqueName('toast');
  await createViaApi(request, name);
  const region = page.getByTestId('toasts');
  await expect(region).toHaveAttribute('aria-live', 'polite');
  const toast = region.getByTestId('toast').filter({ hasText: `${name} is ready to launch` });
  await expect(toast).toBeVisible({ timeout: 15_000 });
  await toast.getByRole('button', { name: 'Dismiss' }).click();
  await expect(toast).toHaveCount(0);
});

test('a failure toast names the reason; the page offers the way out', async ({ page, request }) => {
  await signIn(page);
  const name = uniqueName('fail');
  const id = await createViaApi(request, name);
  await page.goto(`/workstations/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('notify')).toBeVisible();
  await actViaApi(request, id, 'cancel');
  await expect(page.getByTestId('toast').filter({ hasText: `${name} failed: Cancelled` })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('Cancelled');
  await expect(page.getByRole('button', { name: 'Retry provisioning' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Delete' })).toBeVisible();
});

test('times read relative, with the exact time on hover', async ({ page, request }) => {
  await signIn(page);
  const name = uniqueName('age');
  await createViaApi(request, name);
  await page.reload();
  const created = page.locator('.ws-card', { hasText: name }).locator('time');
  await expect(created).toHaveText(/^created (just now|\d+ s ago)$/);
  await expect(created).toHaveAttribute('title', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
});

test('reconfigure errors move focus to the first wrong field', async ({ page, request }) => {
  await signIn(page);
  const id = await createViaApi(request, uniqueName('rc'));
  await page.goto(`/workstations/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('status').first()).toHaveText('stopped', { timeout: 15_000 });
  const panel = page.getByRole('region', { name: 'Reconfigure' });
  await panel.getByLabel('Memory (GB)').fill('0');
  await panel.getByRole('button', { name: 'Save configuration' }).click();
  await expect(page.locator('#rc-memory-error')).not.toBeEmpty();
  await expect(panel.getByLabel('Memory (GB)')).toBeFocused();
});

for (const width of [360, 1280]) {
  test(`nothing is wider than a ${width} px screen`, async ({ page, request }) => {
    await page.setViewportSize({ width, height: 800 });
    const name = uniqueName('narrow-workstation-with-a-long-name');
    const id = await createViaApi(request, name);
    await signIn(page);
    // Measured with the long-named card on the page.
    await expect(page.locator('.ws-card', { hasText: name })).toBeVisible();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`/workstations/${id}`);
    await hydrated(page);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto('/sign-in');
    expect(await overflow()).toBeLessThanOrEqual(0);
  });
}

test('a page arrives whole: the form and the list are in the first response, and no skeleton', async ({ page, request }) => {
  await signIn(page);
  await createViaApi(request, uniqueName('whole'));
  // Pages are rendered with their data before the first byte; the browser
  // then hydrates only the parts that change (the form, the live list).
  const response = await page.request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('data-testid="workstation-list"');
  expect(html).toContain('id="ws-name"');
  expect(html).not.toContain('skeleton');
  await page.getByRole('link', { name: 'Atelier' }).click();
  await hydrated(page);
  await expect(newForm(page).getByLabel('Name')).toBeVisible();
  await expect(page.getByTestId('workstation-list')).toBeVisible();
});

test('an action button says what it is doing while it is on its way', async ({ page, request }) => {
  await signIn(page);
  const id = await createViaApi(request, uniqueName('pend'));
  await page.goto(`/workstations/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('status').first()).toHaveText('stopped', { timeout: 15_000 });
  await page.route('**/api/workstation_action*', async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await page.getByRole('button', { name: 'Launch' }).click();
  const pending = page.getByRole('button', { name: 'Launching…' });
  await expect(pending).toBeVisible();
  await expect(pending).toBeDisabled();
  await expect(page.getByTestId('status').first()).toHaveText('running', { timeout: 15_000 });
});
