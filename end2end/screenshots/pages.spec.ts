import { test, expect, type Page } from '@playwright/test';
import { join } from 'node:path';
import { actViaApi, createViaApi, hydrated, newForm, signIn } from '../tests/helpers';

const out = join(__dirname, '..', '..', 'docs', 'screenshots');
const widths = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 860 } };

async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  // Let transitions settle so pictures do not catch a half-drawn bar.
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage });
}

for (const [size, viewport] of Object.entries(widths)) {
  test(`pages at ${size} width`, async ({ page, request }) => {
    await page.setViewportSize(viewport);
    await page.goto('/sign-in');
    await hydrated(page);
    await shoot(page, `sign-in-${size}`);

    // A list with each state in it.
    const stamp = Date.now().toString(36).slice(-4);
    const ready = await createViaApi(request, `render-farm-${stamp}`, { gpu: 'NVIDIA A100 80GB', cpuCores: 32, memoryGB: 128 });
    const failed = await createViaApi(request, `ml-train-${stamp}`, { gpu: 'NVIDIA H100 80GB', region: 'us-west-2' });
    await actViaApi(request, failed, 'cancel');
    await signIn(page);
    await expect(page.locator('.ws-card', { hasText: `render-farm-${stamp}` }).getByTestId('status')).toHaveText(
      'stopped',
      { timeout: 30_000 },
    );
    await actViaApi(request, ready, 'launch');
    const provisioning = await createViaApi(request, `dev-box-${stamp}`);
    await expect(page.locator('.ws-card', { hasText: `dev-box-${stamp}` }).getByRole('progressbar')).toBeVisible();
    await shoot(page, `home-${size}`);

    await newForm(page).getByLabel('Name').fill('my box');
    await newForm(page).getByLabel('Memory (GB)').fill('4096');
    await page.getByRole('button', { name: 'Create workstation' }).click();
    await expect(page.locator('#ws-memory-error')).not.toBeEmpty();
    await newForm(page).scrollIntoViewIfNeeded();
    await shoot(page, `create-errors-${size}`);

    await page.goto(`/workstations/${provisioning}`);
    await hydrated(page);
    await expect(page.getByRole('progressbar')).toBeVisible();
    await shoot(page, `provisioning-${size}`);

    await page.goto(`/workstations/${failed}`);
    await hydrated(page);
    await shoot(page, `failed-${size}`);
  });
}
