// The bench's page part (server/benches/atelier.rs, `hydrate_ms`) and
// scripts/page-alternate.sh: signs in with the token argv[3] at the server
// argv[2] in headless Chromium, then loads the home page until it has
// hydrated with its list shown, nine times, and prints the medians (ms from
// the navigation's start to the `atelier:hydrated` mark as the page's clock
// has it, and as Playwright sees it) and how many workstations it showed.
// Run by `node -` from end2end/, where @playwright/test is installed.
const { chromium } = require('@playwright/test');
(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  await page.goto(process.argv[2] + '/sign-in');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByLabel('API token').fill(process.argv[3]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(process.argv[2] + '/');
  const inPage = [], outside = [];
  let shown = 0;
  for (let i = 0; i < 9; i++) {
    const start = Date.now();
    await page.goto(process.argv[2] + '/');
    const [mark, cards] = await page.evaluate(() => new Promise((resolve) => {
      const done = () => {
        const mark = performance.getEntriesByName('atelier:hydrated')[0];
        if (mark) resolve([mark.startTime, document.querySelectorAll('.ws-card').length]);
        return mark;
      };
      if (!done()) new PerformanceObserver((_, observer) => { if (done()) observer.disconnect(); }).observe({ type: 'mark' });
    }));
    outside.push(Date.now() - start);
    if (cards === 0) throw new Error('the page shows no workstations');
    inPage.push(mark);
    shown = cards;
  }
  const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  console.log(median(inPage), median(outside), shown);
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
