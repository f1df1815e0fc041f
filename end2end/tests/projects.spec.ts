import { test, expect, type APIRequestContext } from '@playwright/test';
import { hydrated, signIn, token, uniqueName, newForm } from './helpers';

/** Makes a project owned by the e2e user, with `other` as a viewer. */
async function projectWithViewer(request: APIRequestContext): Promise<string> {
  const name = uniqueName('team');
  const auth = { Authorization: `Bearer ${token()}` };
  const made = await request.post('/v1/projects', { headers: auth, data: { name } });
  expect(made.status()).toBe(201);
  const added = await request.put(`/v1/projects/${name}/members/other`, {
    headers: auth,
    data: { role: 'viewer' },
  });
  expect(added.status()).toBe(200);
  return name;
}

test('switch to a project, create in it; a viewer sees it without action buttons', async ({ page, request }) => {
  const project = await projectWithViewer(request);
  await signIn(page);

  // The top bar's switcher takes the home page to the project.
  await page.getByTestId('project-switcher').selectOption(project);
  await page.getByRole('button', { name: 'Switch' }).click();
  await expect(page).toHaveURL(new RegExp(`[?&]project=${project}`));
  await expect(page.getByTestId('list-heading')).toHaveText(`Workstations of ${project}`);
  await hydrated(page);

  const name = uniqueName('shared');
  await newForm(page).getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create workstation' }).click();
  const card = page.locator('.ws-card', { hasText: name });
  await expect(card.getByTestId('status')).toHaveText('stopped', { timeout: 15_000 });

  // It is the project's, not in the user's own list.
  await page.goto('/');
  await expect(page.getByTestId('list-heading')).toHaveText('Your workstations');
  await expect(page.locator('.ws-card', { hasText: name })).toHaveCount(0);

  // The viewer finds it in the project, and may only look.
  await signIn(page, 'other');
  await page.getByTestId('project-switcher').selectOption(project);
  await page.getByRole('button', { name: 'Switch' }).click();
  await expect(page.getByTestId('list-heading')).toHaveText(`Workstations of ${project}`);
  await expect(page.getByTestId('create-not-allowed')).toContainText('viewer');
  await expect(page.getByRole('button', { name: 'Create workstation' })).toHaveCount(0);
  await page.locator('.ws-card', { hasText: name }).getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('owner')).toContainText(`In project ${project}, where you are a viewer`);
  await expect(page.locator('.actions button')).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Reconfigure' })).toHaveCount(0);
});

test('make a project on the account page, add a member, change their role, remove them', async ({ page }) => {
  await signIn(page);
  await page.goto('/account');
  await hydrated(page);
  const name = uniqueName('crew');
  await page.getByLabel('Project name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('status').getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name: `Project ${name}` })).toBeVisible();
  await expect(page.getByTestId('project-role')).toHaveText('owner');
  await hydrated(page);

  // Someone who does not exist is refused; `fresh` is added as a member.
  await page.getByLabel('User', { exact: true }).fill('no-such-user');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByRole('alert')).toContainText('no user named');
  await page.getByLabel('User', { exact: true }).fill('fresh');
  await page.getByLabel('Role', { exact: true }).selectOption('member');
  await page.getByRole('button', { name: 'Add member' }).click();
  const fresh = page.locator('[data-testid="member-row"][data-user="fresh"]');
  await expect(fresh).toHaveAttribute('data-role', 'member');

  await page.getByLabel('Role of fresh').selectOption('viewer');
  await fresh.getByRole('button', { name: 'Change' }).click();
  await expect(fresh).toHaveAttribute('data-role', 'viewer');

  // The only owner cannot be demoted: the rule's words are shown.
  const me = page.locator('[data-testid="member-row"][data-user="e2e"]');
  await page.getByLabel('Role of e2e').selectOption('admin');
  await me.getByRole('button', { name: 'Change' }).click();
  await expect(page.getByRole('alert')).toContainText('last owner');
  await expect(me).toHaveAttribute('data-role', 'owner');

  await page.getByRole('button', { name: 'Remove fresh' }).click();
  await expect(fresh).toHaveCount(0);

  // The home page, switched to the project, links here.
  await page.getByRole('link', { name: 'Its workstations' }).click();
  await expect(page.getByTestId('list-heading')).toHaveText(`Workstations of ${name}`);
  await page.getByTestId('project-members').click();
  await expect(page.getByRole('heading', { name: `Project ${name}` })).toBeVisible();
});
