import { test, expect } from '@playwright/test';
import { signIn, token, uniqueName } from './helpers';

test('the list filters and pages, keeping the filters in the URL', async ({ page, request }) => {
  const prefix = uniqueName('pg');
  const auth = { Authorization: `Bearer ${token()}` };
  for (let n = 0; n < 26; n++) {
    const region = n % 2 === 0 ? 'eu-central-1' : 'us-east-1';
    const res = await request.post('/v1/workstations', {
      headers: auth,
      data: {
        name: `${prefix}-${n}`,
        configuration: { cpuCores: 1, memoryGB: 1, gpu: 'NVIDIA RTX A4000', storageGB: 16, region },
      },
    });
    expect(res.status()).toBe(201);
  }
  await signIn(page);

  const filters = page.getByRole('form', { name: 'Filter workstations' });
  await filters.getByLabel('Name starts with').fill(prefix);
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${prefix}`));
  const cards = page.locator('.ws-card');
  await expect(cards).toHaveCount(24);
  await expect(cards.first()).toContainText(`${prefix}-25`);

  await page.getByRole('link', { name: 'Older →' }).click();
  await expect(cards).toHaveCount(2);
  await expect(cards.first()).toContainText(`${prefix}-1`);
  await expect(page.getByRole('link', { name: 'Older →' })).toHaveCount(0);
  await page.getByRole('link', { name: '← Newest' }).click();
  await expect(cards).toHaveCount(24);

  await filters.getByLabel('Region').selectOption('us-east-1');
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(cards).toHaveCount(13);
  for (const text of await cards.allTextContents()) expect(text).toContain('us-east-1');

  // A status the service does not have matches nothing (not everything).
  await page.goto(`/?q=${prefix}&status=sleeping`);
  await expect(page.getByTestId('empty-list')).toBeVisible();
  await expect(cards).toHaveCount(0);

  // Leave no queue behind for the tests that follow.
  await expect
    .poll(
      async () => {
        const res = await request.get(`/v1/workstations?namePrefix=${prefix}&status=provisioning`, { headers: auth });
        return (await res.json()).workstations.length;
      },
      { timeout: 30_000 },
    )
    .toBe(0);
});
