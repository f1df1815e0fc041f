import { test, expect } from '@playwright/test';
import { signIn, uniqueName, newForm } from './helpers';

test.use({ javaScriptEnabled: false });

test('without JavaScript the form still creates a workstation', async ({ page }) => {
  await signIn(page, 'e2e', false);
  const name = uniqueName('nojs');
  await newForm(page).getByLabel('Name').fill(name);
  await newForm(page).getByLabel('GPU').selectOption('NVIDIA H100 80GB');
  await newForm(page).getByLabel('Region').selectOption('us-east-1');
  await page.getByRole('button', { name: 'Create workstation' }).click();
  // Back on the home page after the post (the server may leave an empty query).
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/\??$/);
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card).toBeVisible();
  await expect(card).toContainText('NVIDIA H100 80GB');
  await expect(card).toContainText('us-east-1');
});

test('without JavaScript the server errors show under the fields and keep the input', async ({ page }) => {
  await signIn(page, 'e2e', false);
  await newForm(page).getByLabel('Name').fill('-starts-with-dash');
  await newForm(page).getByLabel('Storage (GB)').fill('2');
  await page.getByRole('button', { name: 'Create workstation' }).click();
  await expect(page.locator('#ws-name-error')).toHaveText('must start with a letter or a digit');
  await expect(page.locator('#ws-storage-error')).toHaveText('must be between 16 GB and 16384 GB');
  await expect(newForm(page).getByLabel('Name')).toHaveValue('-starts-with-dash');
  await expect(newForm(page).getByLabel('Storage (GB)')).toHaveValue('2');
});
