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
