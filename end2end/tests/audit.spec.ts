import { test, expect } from '@playwright/test';
import { hydrated, newForm, signIn, uniqueName } from './helpers';

test('the audit log shows changes made on the page, filtered, with why one was refused', async ({ page }) => {
  await signIn(page);
  const name = uniqueName('audited');
  await newForm(page).getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create workstation' }).click();
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card).toBeVisible();
  const href = await card.locator('a[href^="/workstations/"]').first().getAttribute('href');
  // The same name again is refused under the field, and recorded with why.
  await newForm(page).getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create workstation' }).click();
  await expect(page.locator('#ws-name-error')).not.toBeEmpty();

  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  await expect(page.getByTestId('audit-scope')).toContainText('What you did');
  await hydrated(page);

  await page.getByLabel('Action').selectOption('workstation.create');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=workstation\.create/);
  const rows = page.getByTestId('audit-record');
  await expect(rows.first()).toHaveAttribute('data-outcome', 'refused');
  await expect(rows.first()).toContainText(name);
  await expect(rows.first()).toContainText('session');
  await expect(rows.nth(1)).toHaveAttribute('data-outcome', 'succeeded');
  await expect(rows.nth(1).locator(`a[href="${href}"]`)).toBeVisible();

  // Only refusals: the successful create is gone from the list.
  await page.getByLabel('Outcome').selectOption('refused');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/outcome=refused/);
  await expect(page.locator(`[data-testid="audit-record"] a[href="${href}"]`)).toHaveCount(0);
  await expect(page.getByTestId('audit-record').first()).toContainText(name);

  // A filter nothing matches says so.
  await page.getByLabel('Who').fill('nobody-at-all');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByTestId('audit-empty')).toHaveText('No record matches these filters.');
});
