import { test, expect } from '@playwright/test';
import { hydrated, signIn, token, uniqueName } from './helpers';

test('a user makes a read-only token on their account page, sees it once, and revokes it', async ({ page, request }) => {
  await signIn(page);
  await page.getByTestId('signed-in-user').click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await expect(page.getByTestId('account-name')).toHaveText('e2e');
  await hydrated(page);

  const label = uniqueName('pw');
  await page.getByLabel('Label').fill(label);
  await page.getByLabel('Expires').selectOption('30');
  await page.getByLabel(/Read-only/).check();
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByTestId('new-token');
  await expect(shown).toBeVisible();
  const created = (await shown.textContent())!.trim();
  expect(created).toMatch(/^atl_[A-Za-z0-9]{32}$/);
  const prefix = created.slice(0, 12);
  const row = page.locator(`[data-testid="token-row"][data-prefix="${prefix}"]`);
  await expect(row).toContainText(label);
  await expect(row).toContainText('read');
  await expect(row).toHaveAttribute('data-state', 'active');
  // Shown now, and only now (see the reload below).
  expect(await page.content()).toContain(created);

  // It reads, and may not change anything.
  const auth = { Authorization: `Bearer ${created}` };
  expect((await request.get('/v1/workstations', { headers: auth })).status()).toBe(200);
  const refused = await request.post('/v1/workstations', { headers: auth, data: { name: 'nope' } });
  expect(refused.status()).toBe(403);

  await page.reload();
  await hydrated(page);
  expect(await page.content()).not.toContain(created);
  await expect(row).toHaveAttribute('data-state', 'active');

  await page.getByRole('button', { name: `Revoke ${prefix}` }).click();
  await expect(row).toHaveAttribute('data-state', 'revoked');
  await expect(page.getByRole('button', { name: `Revoke ${prefix}` })).toHaveCount(0);
  expect((await request.get('/v1/workstations', { headers: auth })).status()).toBe(401);
  // The user's own sign-in token is untouched.
  const mine = { Authorization: `Bearer ${token()}` };
  expect((await request.get('/v1/workstations', { headers: mine })).status()).toBe(200);
});

test('only an admin of the instance sees the admin page', async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
  await page.goto('/admin');
  await expect(page.getByRole('alert')).toContainText('Only an admin of this instance');
  await expect(page.getByTestId('user-table')).toHaveCount(0);
});

test('an admin creates a user, and disabling one shuts them out at once until enabled', async ({ browser, page, request, baseURL }) => {
  await signIn(page, 'boss');
  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await hydrated(page);

  // A new user; a taken name is refused under the field.
  const name = uniqueName('new');
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page.locator(`[data-testid="user-row"][data-name="${name}"]`)).toBeVisible();
  await page.getByLabel('Name').fill('e2e');
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page.locator('#user-name-error')).toContainText('taken');

  // `gone` is signed in elsewhere with a live stream of events.
  const other = await browser.newContext({ baseURL });
  const gonePage = await other.newPage();
  await signIn(gonePage, 'gone');
  const auth = { Authorization: `Bearer ${token('gone')}` };
  expect((await request.get('/v1/workstations', { headers: auth })).status()).toBe(200);

  const gone = page.locator('[data-testid="user-row"][data-name="gone"]');
  await page.getByRole('button', { name: 'Disable gone' }).click();
  await expect(gone).toHaveAttribute('data-disabled', 'true');
  await expect(gone).toContainText('disabled since');
  expect((await request.get('/v1/workstations', { headers: auth })).status()).toBe(401);
  await gonePage.reload();
  await expect(gonePage).toHaveURL(/\/sign-in$/);

  // Everyone's tokens are listed, `gone`'s too, by prefix only.
  const table = page.getByTestId('token-table');
  await expect(table.locator('tr', { hasText: 'gone' }).first()).toBeVisible();
  expect(await page.content()).not.toContain(token('gone'));

  await page.getByRole('button', { name: 'Enable gone' }).click();
  await expect(gone).toHaveAttribute('data-disabled', 'false');
  expect((await request.get('/v1/workstations', { headers: auth })).status()).toBe(200);
  await other.close();
});

test("an admin sets a user's own quota, and it holds at once", async ({ page, request }) => {
  await signIn(page, 'boss');
  await page.goto('/admin');
  await hydrated(page);
  const fresh = page.locator('[data-testid="user-row"][data-name="fresh"]');
  await expect(fresh.getByTestId('user-quota')).toHaveText('default');

  const form = page.getByRole('form', { name: "A user's quota" });
  await form.getByLabel('User or project').selectOption('fresh');
  await form.getByLabel('GPUs').fill('-1');
  await form.getByRole('button', { name: 'Save quota' }).click();
  await expect(page.locator('#q-gpus-error')).toContainText('whole number');

  // (the page is drawn again after each save: the user is picked again)
  await form.getByLabel('User or project').selectOption('fresh');
  await form.getByLabel('GPUs').fill('0');
  await form.getByRole('button', { name: 'Save quota' }).click();
  await expect(fresh.getByTestId('user-quota')).toHaveText('0 GPUs');
  // The form holds the chosen account's own limits, so saving one keeps the others.
  await form.getByLabel('User or project').selectOption('fresh');
  await expect(form.getByLabel('GPUs')).toHaveValue('0');
  await expect(form.getByLabel('CPU cores')).toHaveValue('');
  const auth = { Authorization: `Bearer ${token('fresh')}` };
  const refused = await request.post('/v1/workstations', {
    headers: auth,
    data: {
      name: uniqueName('over'),
      configuration: { cpuCores: 2, memoryGB: 8, gpu: 'NVIDIA L4', storageGB: 64, region: 'us-east-1' },
    },
  });
  expect(refused.status()).toBe(403);

  // Empty fields: back to the server's defaults.
  await form.getByLabel('User or project').selectOption('fresh');
  await form.getByLabel('GPUs').fill('');
  await form.getByRole('button', { name: 'Save quota' }).click();
  await expect(fresh.getByTestId('user-quota')).toHaveText('default');

  // A project's quota, apart from its members' own.
  const project = uniqueName('budget');
  const owner = { Authorization: `Bearer ${token()}` };
  expect((await request.post('/v1/projects', { headers: owner, data: { name: project } })).status()).toBe(201);
  await page.reload();
  await hydrated(page);
  await form.getByLabel('User or project').selectOption(project);
  await form.getByLabel('CPU cores').fill('4');
  await form.getByRole('button', { name: 'Save quota' }).click();
  const row = page.locator(`[data-testid="project-quota-row"][data-name="${project}"]`);
  await expect(row.getByTestId('project-quota')).toHaveText('4 CPU cores');
  const tooBig = await request.post('/v1/workstations', {
    headers: owner,
    data: {
      name: uniqueName('big'),
      project,
      configuration: { cpuCores: 8, memoryGB: 8, gpu: 'NVIDIA L4', storageGB: 64, region: 'us-east-1' },
    },
  });
  expect(tooBig.status()).toBe(403);
});

test('a token limited to one project, made on the account page, acts in that project only', async ({ page, request }) => {
  const project = uniqueName('scoped');
  const mine = { Authorization: `Bearer ${token()}` };
  expect((await request.post('/v1/projects', { headers: mine, data: { name: project } })).status()).toBe(201);
  await signIn(page);
  await page.goto('/account');
  await hydrated(page);
  await page.getByLabel('Limited to').selectOption(project);
  await page.getByRole('button', { name: 'Create token' }).click();
  const limited = (await page.getByTestId('new-token').textContent())!.trim();
  const row = page.locator(`[data-testid="token-row"][data-prefix="${limited.slice(0, 12)}"]`);
  await expect(row).toContainText(`act in project ${project}`);

  const made = await request.post('/v1/workstations', {
    headers: { Authorization: `Bearer ${limited}` },
    data: {
      name: uniqueName('in-project'),
      configuration: { cpuCores: 2, memoryGB: 8, gpu: 'NVIDIA L4', storageGB: 64, region: 'us-east-1' },
    },
  });
  expect(made.status()).toBe(201);
  const body = await made.json();
  expect(body.owner).toMatchObject({ kind: 'project', name: project });
});
