import { test, expect } from '@playwright/test';
import { signIn, token, uniqueName, newForm } from './helpers';

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

test('without JavaScript a token made on the account page is shown once', async ({ page, request }) => {
  await signIn(page, 'e2e', false);
  await page.goto('/account');
  await page.getByLabel('Label').fill(uniqueName('nojs'));
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page).toHaveURL(/\/account\??$/);
  const shown = page.getByTestId('new-token');
  await expect(shown).toHaveText(/^atl_[A-Za-z0-9]{32}$/);
  const created = (await shown.textContent())!.trim();
  const listed = await request.get('/v1/workstations', { headers: { Authorization: `Bearer ${created}` } });
  expect(listed.status()).toBe(200);
  await page.reload();
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await expect(page.locator(`[data-testid="token-row"][data-prefix="${created.slice(0, 12)}"]`)).toBeVisible();
});

test("without JavaScript a project's admin adds a member", async ({ page, request }) => {
  const project = uniqueName('nojs-team');
  const auth = { Authorization: `Bearer ${token()}` };
  expect((await request.post('/v1/projects', { headers: auth, data: { name: project } })).status()).toBe(201);
  await signIn(page, 'e2e', false);
  await page.goto(`/projects/${project}`);
  await page.getByLabel('User', { exact: true }).fill('other');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.locator('[data-testid="member-row"][data-user="other"]')).toHaveAttribute('data-role', 'viewer');
});
