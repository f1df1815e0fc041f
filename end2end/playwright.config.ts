import { defineConfig } from '@playwright/test';

// scripts/e2e.sh picks a free port and points at the built binary and site.
const port = process.env.ATELIER_E2E_PORT ?? '3123';
const baseURL = `http://127.0.0.1:${port}`;
// A second server whose workstations are containers on a real engine.
const dockerPort = process.env.ATELIER_E2E_DOCKER_PORT;
// A real OpenID provider for single sign-on, and the callbacks it accepts:
// the main server's and those of the servers tests/sign_on.spec.ts starts.
const oidcPort = process.env.ATELIER_E2E_OIDC_PORT;
const callbacks = [
  port,
  process.env.ATELIER_E2E_OIDC_EXPIRED_PORT,
  process.env.ATELIER_E2E_OIDC_AUDIENCE_PORT,
  process.env.ATELIER_E2E_OIDC_FOREIGN_PORT,
]
  .filter(Boolean)
  .map((p) => `--redirect-uri http://127.0.0.1:${p}/auth/oidc/callback`)
  .join(' ');

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    browserName: 'chromium',
    launchOptions: {
      // Debian's Chromium; Playwright's own browser download is not used.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: [
    {
      command: 'bash ./serve.sh',
      url: `${baseURL}/sign-in`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    ...(dockerPort
      ? [
          {
            command: 'bash ./serve.sh docker',
            url: `http://127.0.0.1:${dockerPort}/sign-in`,
            reuseExistingServer: false,
            timeout: 60_000,
            stdout: 'pipe' as const,
            stderr: 'pipe' as const,
          },
        ]
      : []),
    ...(oidcPort
      ? [
          {
            command: `node ./oidc-provider.mjs --port ${oidcPort} ${callbacks}`,
            url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
            reuseExistingServer: false,
            timeout: 30_000,
            stdout: 'ignore' as const,
            stderr: 'pipe' as const,
          },
        ]
      : []),
  ],
});
