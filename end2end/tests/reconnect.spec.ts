import { test, expect } from '@playwright/test';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signInWith, uniqueName } from './helpers';

// This test runs its own server, so it can stop and start it.
const bin = process.env.ATELIER_BIN ?? '';
const siteRoot = process.env.ATELIER_SITE_ROOT ?? '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function start(db: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    bin,
    ['--database', db, 'serve', '--addr', `127.0.0.1:${port}`, '--site-root', siteRoot, '--no-demo-user',
      '--simulated-phase-ms', '200'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/sign-in`);
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the server did not start');
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

test('the list reconnects after a server restart and catches up without a reload', async ({ browser }) => {
  test.skip(!bin || !siteRoot, 'needs ATELIER_BIN and ATELIER_SITE_ROOT (set by scripts/e2e.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'atelier-e2e-'));
  const db = `sqlite://${dir}/restart.db`;
  const apiToken = execFileSync(bin, ['--database', db, 'token', 'create', '--user', 'restarter'], {
    env: { ...process.env, ATELIER_LOG: 'warn' },
  })
    .toString()
    .trim();
  const port = await freePort();
  let server = await start(db, port);
  const context = await browser.newContext({ baseURL: `http://127.0.0.1:${port}` });
  const page = await context.newPage();
  try {
    await signInWith(page, apiToken, 'restarter');
    await expect(page.getByTestId('empty-list')).toBeVisible();
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

    await stop(server);
    const banner = page.getByText('Live updates are paused: reconnecting…');
    await expect(banner).toBeVisible();

    server = await start(db, port);
    const name = uniqueName('after-restart');
    const res = await fetch(`http://127.0.0.1:${port}/v1/workstations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name,
        configuration: { cpuCores: 2, memoryGB: 8, gpu: 'NVIDIA L4', storageGB: 64, region: 'us-east-1' },
      }),
    });
    expect(res.status).toBe(201);

    const card = page.locator('.ws-card', { hasText: name });
    await expect(card).toBeVisible({ timeout: 20_000 });
    await expect(card.getByTestId('status')).toHaveText('stopped', { timeout: 20_000 });
    await expect(banner).toHaveCount(0);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  } finally {
    await context.close();
    await stop(server);
  }
});
