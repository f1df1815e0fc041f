import { test, expect, type Page } from '@playwright/test';
import { hydrated, signIn, uniqueName, newForm } from './helpers';

async function createAndOpen(page: Page, prefix: string): Promise<string> {
  await signIn(page);
  const name = uniqueName(prefix);
  await newForm(page).getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create workstation' }).click();
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card.getByTestId('status')).toHaveText('stopped', { timeout: 15_000 });
  await card.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await hydrated(page);
  return name;
}

test('launch, stop and delete from the workstation page', async ({ page }) => {
  const name = await createAndOpen(page, 'cycle');
  const status = page.locator('.panel .ws-head').getByTestId('status');

  await expect(page.getByRole('button', { name: 'Stop' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(status).toHaveText('running', { timeout: 15_000 });
  await expect(page.getByText('Running.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Launch' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(status).toHaveText('stopped', { timeout: 15_000 });
  await expect(page.getByTestId('timeline')).toContainText('Stopped');

  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('This workstation has been deleted.')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('timeline')).toContainText('Deleted');
  await expect(page.locator('.actions button')).toHaveCount(0);

  await page.getByRole('link', { name: '← All workstations' }).click();
  await expect(page.locator('.ws-card', { hasText: name })).toHaveCount(0);
});

test('declining the confirmation keeps the workstation', async ({ page }) => {
  await createAndOpen(page, 'keep');
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.waitForTimeout(500);
  await expect(page.getByRole('button', { name: 'Launch' })).toBeVisible();
  await expect(page.getByText('This workstation has been deleted.')).toHaveCount(0);
});

test('reconfigure from the workstation page, with the rules checked inline', async ({ page }) => {
  await createAndOpen(page, 'resize');
  const calls: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && /\/api\/reconfigure_workstation/.test(r.url())) calls.push(r.url());
  });
  const panel = page.getByRole('region', { name: 'Reconfigure' });
  await panel.getByLabel('CPU cores').fill('16');
  await panel.getByLabel('Storage (GB)').fill('100');
  await panel.getByRole('button', { name: 'Save configuration' }).click();
  await expect(panel.locator('#rc-storage-error')).toHaveText('can only grow: it is 256 GB now');
  expect(calls).toEqual([]);

  await panel.getByLabel('Storage (GB)').fill('512');
  await panel.getByRole('button', { name: 'Save configuration' }).click();
  await expect(panel.getByRole('status')).toHaveText('Saved.');
  await expect(page.locator('.ws-spec')).toContainText('16 cores');
  await expect(page.locator('.ws-spec')).toContainText('512 GB');
  await expect(page.getByTestId('timeline')).toContainText('Reconfigured: 16 vCPUs');
  expect(calls.length).toBe(1);
});
