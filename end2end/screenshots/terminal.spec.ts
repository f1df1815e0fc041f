import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hydrated, newForm, signInWith } from '../tests/helpers';

// The Terminal panel, on the server whose workstations are containers.
const out = join(__dirname, '..', '..', 'docs', 'screenshots');
test.use({ baseURL: `http://127.0.0.1:${process.env.ATELIER_E2E_DOCKER_PORT}` });

test('the terminal panel', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 1100 });
  const apiToken = readFileSync(join(__dirname, '..', '.state-docker', 'token'), 'utf8').trim();
  await signInWith(page, apiToken, 'e2e');
  const name = `dev-shell-${Date.now().toString(36).slice(-4)}`;
  await newForm(page).getByLabel('Name').fill(name);
  await newForm(page).getByLabel('CPU cores').fill('2');
  await newForm(page).getByLabel('Memory (GB)').fill('1');
  await newForm(page).getByLabel('Storage (GB)').fill('32');
  await page.getByRole('button', { name: 'Create workstation' }).click();
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card.getByTestId('status')).toHaveText('stopped', { timeout: 30_000 });
  await card.getByRole('link', { name }).click();
  await hydrated(page);
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(page.locator('.panel .ws-head').getByTestId('status')).toHaveText('running', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Open terminal' }).click();
  await page.locator('[data-terminal-screen] .xterm').click();
  for (const line of ['cd && echo "hello from $(hostname)" > notes.txt', 'cat notes.txt', 'ls -la', 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us']) {
    await page.keyboard.type(line);
    await page.keyboard.press('Enter');
  }
  await expect(page.locator('[data-terminal-screen] .xterm-rows')).toContainText('hello from');
  await page.waitForTimeout(500);
  const panel = page.locator('.terminal-panel');
  await panel.scrollIntoViewIfNeeded();
  await panel.screenshot({ path: join(out, 'terminal-desktop.png') });
});
