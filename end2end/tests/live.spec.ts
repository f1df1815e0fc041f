import { test, expect } from '@playwright/test';
import { hydrated, signIn, token, uniqueName, newForm } from './helpers';

test('a new workstation goes from provisioning to stopped on the page, live', async ({ page }) => {
  await signIn(page);
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
  const name = uniqueName('live');
  await newForm(page).getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create workstation' }).click();

  const card = page.locator('.ws-card', { hasText: name });
  await expect(card.getByTestId('status')).toHaveText('provisioning');
  const bar = card.getByRole('progressbar');
  await expect(bar).toBeVisible();
  // The phases arrive one by one: the bar moves past the start.
  await expect(bar).toHaveAttribute('value', /^(35|65|90)$/);
  await expect(card.getByTestId('status')).toHaveText('stopped', { timeout: 15_000 });
  await expect(card.getByRole('progressbar')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
});

test('a request beyond capacity is refused under the field, with where there is room', async ({ page }) => {
  await signIn(page);
  const name = uniqueName('nocap');
  await newForm(page).getByLabel('Name').fill(name);
  await newForm(page).getByLabel('GPU').selectOption('NVIDIA H100 80GB');
  await newForm(page).getByLabel('Region').selectOption('ap-southeast-1');
  // Said before submitting...
  await expect(page.getByTestId('capacity')).toHaveText('No NVIDIA H100 80GB free in ap-southeast-1 right now');
  await newForm(page).getByLabel('Region').selectOption('us-west-2');
  await expect(page.getByTestId('capacity')).toHaveText(/^\d+ of 16 NVIDIA H100 80GB free in us-west-2$/);
  await newForm(page).getByLabel('Region').selectOption('ap-southeast-1');
  // ...and by the server when submitted anyway.
  await page.getByRole('button', { name: 'Create workstation' }).click();
  await expect(page.locator('#ws-region-error')).toHaveText(
    'No NVIDIA H100 80GB capacity in ap-southeast-1 (Asia Pacific (Singapore)): that GPU is not offered there. ' +
      'Regions with it: us-west-2, us-east-1, eu-west-1, eu-central-1',
  );
  await expect(newForm(page).getByLabel('Name')).toHaveValue(name);
  await expect(page.locator('.ws-card', { hasText: name })).toHaveCount(0);
});

test('a failed provisioning shows its reason, not a spinner, and retry gets out of it', async ({ page, request }) => {
  await signIn(page);
  const name = uniqueName('failed');
  const auth = { Authorization: `Bearer ${token()}` };
  const res = await request.post('/v1/workstations', {
    headers: auth,
    data: { name, configuration: { cpuCores: 2, memoryGB: 8, gpu: 'NVIDIA L4', storageGB: 64, region: 'us-east-1' } },
  });
  expect(res.status()).toBe(201);
  const { id } = await res.json();
  expect((await request.post(`/v1/workstations/${id}/cancel`, { headers: auth })).status()).toBe(202);

  const card = page.locator('.ws-card', { hasText: name });
  await expect(card.getByTestId('status')).toHaveText('error', { timeout: 15_000 });
  await expect(card.getByTestId('reason')).toHaveText('Cancelled');
  await expect(card.getByRole('progressbar')).toHaveCount(0);

  await card.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await hydrated(page);
  await expect(page.getByRole('alert')).toContainText('Provisioning failed.');
  await expect(page.getByRole('alert')).toContainText('Cancelled');
  await page.getByRole('button', { name: 'Retry provisioning' }).click();
  await expect(page.getByText('Provisioned and stopped: ready to launch.')).toBeVisible({ timeout: 15_000 });
});

test('the workstation page follows provisioning and keeps the timeline', async ({ page, request }) => {
  await signIn(page);
  const name = uniqueName('detail');
  // Created through the API: the list picks it up without a reload.
  const res = await request.post('/v1/workstations', {
    headers: { Authorization: `Bearer ${token()}` },
    data: {
      name,
      configuration: { cpuCores: 4, memoryGB: 16, gpu: 'NVIDIA L4', storageGB: 128, region: 'eu-west-1' },
    },
  });
  expect(res.status()).toBe(201);
  const { id } = await res.json();
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card).toBeVisible();

  await page.goto(`/workstations/${id}`);
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByText('Provisioned and stopped: ready to launch.')).toBeVisible({ timeout: 15_000 });
  const timeline = page.getByTestId('timeline');
  await expect(timeline).toContainText('Queued for provisioning');
  await expect(timeline).toContainText('Booting the workstation image');
  await expect(timeline).toContainText('Ready: the workstation is provisioned and stopped');
});

test('an unknown workstation page is a 404 in the app style', async ({ page }) => {
  await signIn(page);
  const res = await page.goto('/workstations/ws-nosuchthing0');
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'No such workstation' })).toBeVisible();
});
