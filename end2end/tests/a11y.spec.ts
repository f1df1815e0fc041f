import AxeBuilder from '@axe-core/playwright';
import { test, expect, type Page } from '@playwright/test';
import { actViaApi, createViaApi, hydrated, newForm, signIn, token, uniqueName } from './helpers';

/** Waits for the page's finite animations (a toast fading in when a job ends) to finish. */
async function settled(page: Page): Promise<void> {
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
        .map((a) => a.finished.catch(() => undefined)),
    ),
  );
}

/** The serious or critical violations axe finds on the page as it is now. */
async function violations(page: Page): Promise<string[]> {
  await settled(page);
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * No serious or critical violation may remain. Live pages change while axe
 * reads them (a toast can begin to fade in mid-analysis, and colours caught
 * halfway through a fade are not the page's colours), so a finding is read
 * again once the page has settled: what is still there is what fails.
 */
async function audit(page: Page, what: string): Promise<void> {
  if ((await violations(page)).length === 0) return;
  await page.waitForTimeout(500);
  expect(await violations(page), `axe on ${what}`).toEqual([]);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test('sign-in page, with and without an error', async ({ page }) => {
      await page.goto('/sign-in');
      await hydrated(page);
      await audit(page, 'the sign-in page');
      await page.getByLabel('API token').fill('atl_wrong');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.locator('#token-error')).not.toBeEmpty();
      await audit(page, 'the sign-in page with an error');
    });

    test('home page: empty, with workstations, and with form errors', async ({ page, request }) => {
      await signIn(page, 'fresh');
      await expect(page.getByTestId('empty-list')).toBeVisible();
      await audit(page, 'the empty home page');

      await signIn(page);
      await createViaApi(request, uniqueName('axe'));
      await page.reload();
      await hydrated(page);
      await expect(page.locator('.ws-card').first()).toBeVisible();
      await audit(page, 'the home page with workstations');

      await newForm(page).getByLabel('Name').fill('bad name!');
      await newForm(page).getByLabel('CPU cores').fill('0');
      await page.getByRole('button', { name: 'Create workstation' }).click();
      await expect(page.locator('#ws-cpu-error')).not.toBeEmpty();
      await audit(page, 'the create form with errors');
    });

    test('workstation page: provisioning, failed, and missing', async ({ page, request }) => {
      await signIn(page);
      // Cancelled at once, so it fails however long the audits take.
      const failed = await createViaApi(request, uniqueName('axe'));
      await actViaApi(request, failed, 'cancel');
      const id = await createViaApi(request, uniqueName('axe'));
      await page.goto(`/workstations/${id}`);
      await hydrated(page);
      await expect(page.getByRole('progressbar')).toBeVisible();
      await audit(page, 'a provisioning workstation');

      await page.goto(`/workstations/${failed}`);
      await hydrated(page);
      await expect(page.getByRole('alert')).toContainText('Cancelled');
      await audit(page, 'a failed workstation');

      await page.goto('/workstations/ws-missing');
      await expect(page.getByRole('heading', { name: 'No such workstation' })).toBeVisible();
      await audit(page, 'a missing workstation');
    });

    test('audit log page', async ({ page }) => {
      await signIn(page);
      await page.goto('/audit');
      await hydrated(page);
      await expect(page.getByTestId('audit-table')).toBeVisible();
      await audit(page, 'the audit log');
    });

    test('account and admin pages', async ({ page }) => {
      await signIn(page, 'boss');
      await page.goto('/account');
      await hydrated(page);
      await expect(page.getByTestId('token-table')).toBeVisible();
      await audit(page, 'the account page');
      await page.goto('/admin');
      await hydrated(page);
      await expect(page.getByTestId('user-table')).toBeVisible();
      await audit(page, 'the admin page');
    });

    test('project page', async ({ page, request }) => {
      const project = uniqueName('axe-team');
      const made = await request.post('/v1/projects', {
        headers: { Authorization: `Bearer ${token()}` },
        data: { name: project },
      });
      expect(made.status()).toBe(201);
      await signIn(page);
      await page.goto(`/projects/${project}`);
      await hydrated(page);
      await expect(page.getByTestId('member-table')).toBeVisible();
      await audit(page, 'a project page');
    });

    test('not-found page', async ({ page }) => {
      await page.goto('/no/such/page');
      await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
      await audit(page, 'the not-found page');
    });
  });
}

test('the audit catches what it should', async ({ page }) => {
  await page.goto('/sign-in');
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'text';
    document.querySelector('main')?.append(input);
  });
  const results = await new AxeBuilder({ page }).withTags(['wcag2a']).analyze();
  expect(results.violations.map((v) => v.id)).toContain('label');
});
