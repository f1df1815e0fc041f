import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// `make screenshots`: the README's pictures, at phone and desktop widths,
// taken by the same browser against the same kind of server as the tests.
export default defineConfig({
  ...base,
  testDir: './screenshots',
  timeout: 120_000,
  // Slow phases, so a picture of provisioning shows provisioning.
  webServer: [base.webServer]
    .flat()
    .map((server, n) => (n === 0 ? { ...server!, env: { ...process.env, ATELIER_E2E_PHASE_MS: '3000' } } : server!)),
});
