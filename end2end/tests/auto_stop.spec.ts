import { test, expect } from '@playwright/test';
import { hydrated, signIn, uniqueName, newForm } from './helpers';

test('auto-stop: chosen in the create form, shown with its deadline while running, changed on the page', async ({ page }) => {
  await signIn(page);
  const name = uniqueName('timed');
  await newForm(page).getByLabel('Name').fill(name);
  // The server's default is offered first.
  await expect(newForm(page).getByLabel('Stop when idle for')).toHaveValue('');
  await newForm(page).getByLabel('Stop after running for').selectOption({ label: '1 hour' });
  await page.getByRole('button', { name: 'Create workstation' }).click();
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card.getByTestId('status')).toHaveText('stopped', { timeout: 15_000 });
  await card.getByRole('link', { name }).click();
  await hydrated(page);

  const settings = page.getByTestId('auto-stop-settings');
  await expect(settings).toHaveText('Stops by itself: after 1 hour running.');
  await expect(page.getByTestId('auto-stop-at')).toHaveCount(0);

  // Launched: when it stops, live from the stream.
  const status = page.locator('.panel .ws-head').getByTestId('status');
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(status).toHaveText('running', { timeout: 15_000 });
  await expect(page.getByTestId('auto-stop-at')).toHaveText(/^Stops at \d\d:\d\d:\d\d UTC\.$/);

  // Changed while running: at once, with the idle deadline first.
  const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Auto-stop' }) });
  await expect(panel.getByLabel('Stop after running for')).toHaveValue('3600');
  await panel.getByLabel('Stop when idle for').selectOption({ label: '15 minutes' });
  await panel.getByRole('button', { name: 'Save timeouts' }).click();
  await expect(panel.getByText('Saved.')).toBeVisible();
  await expect(settings).toHaveText('Stops by itself: after 15 minutes idle or 1 hour running.');
  await expect(page.getByTestId('auto-stop-at')).toHaveText(/^Stops at \d\d:\d\d:\d\d UTC if idle\.$/);
  await expect(page.getByTestId('timeline')).toContainText('Auto-stop settings: after 15 minutes idle or 1 hour running');

  // The server says the same after a reload.
  await page.reload();
  await hydrated(page);
  await expect(settings).toHaveText('Stops by itself: after 15 minutes idle or 1 hour running.');
  await expect(page.getByTestId('auto-stop-at')).toHaveText(/ UTC if idle\.$/);

  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(status).toHaveText('stopped', { timeout: 15_000 });
  await expect(page.getByTestId('auto-stop-at')).toHaveCount(0);
});
