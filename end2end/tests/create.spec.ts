import { test, expect, type Request } from '@playwright/test';
import { hydrated, signIn, uniqueName, newForm } from './helpers';

const isCreateCall = (r: Request) => r.method() === 'POST' && /\/api\/create_workstation/.test(r.url());

test('invalid input shows errors under the fields and sends nothing', async ({ page }) => {
  await signIn(page);
  const calls: string[] = [];
  page.on('request', (r) => {
    if (isCreateCall(r)) calls.push(r.url());
  });

  await newForm(page).getByLabel('Name').fill('bad name!');
  await newForm(page).getByLabel('CPU cores').fill('0');
  await newForm(page).getByLabel('Memory (GB)').fill('4096');
  await page.getByRole('button', { name: 'Create workstation' }).click();

  await expect(page.locator('#ws-name-error')).toHaveText(
    "may contain only letters, digits, '-' and '_' (found whitespace)",
  );
  await expect(page.locator('#ws-cpu-error')).toHaveText('must be between 1 and 128');
  await expect(page.locator('#ws-memory-error')).toHaveText('must be between 1 GB and 1024 GB');
  await expect(newForm(page).getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await expect(newForm(page).getByLabel('Name')).toHaveAttribute('aria-describedby', /ws-name-error/);
  // Focus goes to the first field with an error.
  await expect(newForm(page).getByLabel('Name')).toBeFocused();
  // What was typed is kept.
  await expect(newForm(page).getByLabel('Name')).toHaveValue('bad name!');
  await expect(page.locator('#ws-storage-error')).toBeEmpty();

  await page.waitForTimeout(300);
  expect(calls).toEqual([]);
});

test('a valid form creates a workstation that appears without a reload', async ({ page }) => {
  await signIn(page);
  const name = uniqueName('e2e');
  // A marker that a full page load would wipe out.
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

  await newForm(page).getByLabel('Name').fill(name);
  await newForm(page).getByLabel('CPU cores').fill('16');
  await newForm(page).getByLabel('Memory (GB)').fill('64');
  await newForm(page).getByLabel('Storage (GB)').fill('1024');
  await newForm(page).getByLabel('GPU').selectOption('NVIDIA L4');
  await newForm(page).getByLabel('Region').selectOption('eu-west-1');
  const gpusUsed = page.getByTestId('quota').locator('div', { hasText: 'GPUs' }).locator('dd');
  const usedBefore = Number((await gpusUsed.textContent())?.split(' ')[0]);
  await page.getByRole('button', { name: 'Create workstation' }).click();

  const card = page.locator('.ws-card', { hasText: name });
  await expect(card).toBeVisible();
  await expect(card.getByTestId('status')).toHaveText(/provisioning|stopped/);
  await expect(card).toContainText('16 cores');
  await expect(card).toContainText('64 GB');
  await expect(card).toContainText('1024 GB');
  await expect(card).toContainText('NVIDIA L4');
  await expect(card).toContainText('eu-west-1');
  await expect(newForm(page).getByRole('status')).toContainText(`Created ${name}`);
  // The quota panel counts it.
  await expect(gpusUsed).toHaveText(new RegExp(`^${usedBefore + 1} of `));
  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  // The form is ready for the next one.
  await expect(newForm(page).getByLabel('Name')).toHaveValue('');

  // The server's verdict on a duplicate name shows under the field.
  await newForm(page).getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create workstation' }).click();
  await expect(page.locator('#ws-name-error')).toHaveText(`you already have a workstation named "${name}"`);
  await expect(newForm(page).getByLabel('Name')).toHaveValue(name);

  // Still there after a reload, rendered by the server.
  await page.reload();
  await hydrated(page);
  await expect(page.locator('.ws-card', { hasText: name })).toHaveCount(1);
});

test('another user does not see these workstations', async ({ page }) => {
  await signIn(page, 'other');
  await expect(page.getByTestId('empty-list')).toBeVisible();
});
