import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hydrated, newForm, signInWith, uniqueName } from './helpers';

// The second server of playwright.config.ts: its workstations are real
// containers on the engine scripts/engine.sh runs.
const dockerPort = process.env.ATELIER_E2E_DOCKER_PORT;
test.use({ baseURL: `http://127.0.0.1:${dockerPort}` });

/** Signs in to the engine's server and creates a workstation small enough for the test machine, through the form; waits until it is provisioned. */
async function createSmall(page: Page, prefix: string): Promise<string> {
  expect(dockerPort, 'scripts/e2e.sh starts the engine and its server').toBeTruthy();
  const apiToken = readFileSync(join(__dirname, '..', '.state-docker', 'token'), 'utf8').trim();
  await signInWith(page, apiToken, 'e2e');
  const name = uniqueName(prefix);
  await newForm(page).getByLabel('Name').fill(name);
  await newForm(page).getByLabel('CPU cores').fill('1');
  await newForm(page).getByLabel('Memory (GB)').fill('1');
  await newForm(page).getByLabel('Storage (GB)').fill('16');
  await page.getByRole('button', { name: 'Create workstation' }).click();
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card.getByTestId('status')).toHaveText('stopped', { timeout: 30_000 });
  await card.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await hydrated(page);
  return name;
}

test('a workstation on the real engine: create, provisioned, launch, running, delete', async ({ page }) => {
  await createSmall(page, 'container');
  const timeline = page.getByTestId('timeline');
  await expect(timeline).toContainText('Creating the container');
  await expect(timeline).toContainText('Waiting until it is ready');

  const status = page.locator('.panel .ws-head').getByTestId('status');
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(status).toHaveText('running', { timeout: 30_000 });

  // The Terminal panel: a shell in the container, under the page's CSP.
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
  });
  await page.getByRole('button', { name: 'Open terminal' }).click();
  const screen = page.locator('[data-terminal-screen] .xterm-rows');
  await expect(screen).toBeVisible();
  // Typed only once the shell prompts: keys sent before it reads are lost.
  await expect(screen).toContainText('#', { timeout: 15_000 });
  await page.locator('[data-terminal-screen] .xterm').click();
  await page.keyboard.type('echo "answer: $((6*7))"');
  await page.keyboard.press('Enter');
  await expect(screen).toContainText('answer: 42');

  // A reload finds the same shell again, with what it showed.
  await page.reload();
  await hydrated(page);
  await expect(page.locator('[data-terminal-banner]')).toHaveText('Reconnected to your shell.');
  await expect(screen).toContainText('answer: 42');
  await page.locator('[data-terminal-screen] .xterm').click();
  await page.keyboard.type('echo "again: $((6*7))"');
  await page.keyboard.press('Enter');
  await expect(screen).toContainText('again: 42');
  expect(violations).toEqual([]);

  // This month's usage, on its page.
  await expect(page.getByTestId('usage')).toContainText('Used this month');
  await expect(page.getByTestId('usage')).toContainText('core-hours');

  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('This workstation has been deleted.')).toBeVisible({ timeout: 30_000 });
  await expect(timeline).toContainText('Removing the home volume');
});

test('auto-stop: the page warns, "Keep running" postpones it, and then it stops with the reason', async ({ page }) => {
  test.setTimeout(60_000);
  await createSmall(page, 'idle');
  const status = page.locator('.panel .ws-head').getByTestId('status');
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(status).toHaveText('running', { timeout: 30_000 });

  // Idle for 10 s: warned 2 s before.
  const notice = page.getByTestId('auto-stop');
  await expect(notice).toContainText('Stops in 2 seconds if idle', { timeout: 15_000 });
  await notice.getByRole('button', { name: 'Keep running' }).click();
  await expect(notice).toHaveCount(0);
  await expect(page.getByTestId('timeline')).toContainText('Kept running');
  await expect(status).toHaveText('running');

  // Left alone, it stops, and says why.
  await expect(status).toHaveText('stopped', { timeout: 20_000 });
  await expect(page.getByTestId('timeline')).toContainText('Stopped after 10 seconds idle');

  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('This workstation has been deleted.')).toBeVisible({ timeout: 30_000 });
});
