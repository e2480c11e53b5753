/**
 * Browser tests of the console (issue 12): playwright-core drives Debian's `chromium` (installed
 * by .ci/run with apt-get when missing; never a browser download) against the real server on
 * port 0 serving the built console (dist/console, `npm run build:console`).
 *
 *   test('…', { skip: BROWSER_SKIP }, async (t) => {
 *     const { page, server } = await startConsole(t);
 *     await signIn(page);
 *     await page.getByRole('link', { name: 'Calls' }).click();
 *   });
 *
 * Everything started is stopped with t.after. Wait on conditions (locators auto-wait; `expect`
 * below polls), never fixed sleeps. With HOOKLINE_SCREENSHOTS=dir, `screenshot(page, name)`
 * writes dir/name.png (`npm run screenshots` puts them in docs/screenshots/).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Config } from '../src/config.ts';
import type { Overrides } from '../src/hookline.ts';
import { CONSOLE_DIR } from '../src/api/routes/console.ts';
import { API_KEY, startHookline, waitFor, type TestServer } from './helpers.ts';

/** The chromium binary: HOOKLINE_CHROMIUM, else /usr/bin/chromium, else `chromium` on the PATH. */
export function findChromium(): string | null {
  const env = process.env.HOOKLINE_CHROMIUM;
  if (env) return existsSync(env) ? env : null;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const found = execFileSync('which', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (found) return found;
    } catch {
      // not on the PATH
    }
  }
  return null;
}

export const CHROMIUM = findChromium();

/** `skip` option for browser tests: false when they can run, else why not. */
export const BROWSER_SKIP: string | false = !CHROMIUM
  ? 'chromium is not installed (Debian: apt-get install chromium; or set HOOKLINE_CHROMIUM): browser tests skipped'
  : !existsSync(path.join(CONSOLE_DIR, 'index.html'))
    ? 'the console is not built (npm run build:console): browser tests skipped'
    : false;

/**
 * Chromium's own background traffic (component updates, sync, safe browsing…) fails without
 * internet and can stall a headless start: it is all turned off.
 */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--no-default-browser-check',
];

export interface ConsoleHarness {
  page: Page;
  context: BrowserContext;
  server: TestServer;
  /** the console's address: `${server.url}/console/` */
  url: string;
  /** what the page logged as errors (uncaught exceptions, console.error) */
  errors: string[];
}

/**
 * One chromium per test file (a start takes seconds on a busy machine), closed when the file's
 * tests are done; playwright gives it a fresh temporary profile (user-data-dir) and removes it.
 * Each test gets its own context: no cookies or storage shared between tests.
 */
let browser: Promise<Browser> | null = null;
function sharedBrowser(): Promise<Browser> {
  browser ??= chromium.launch({ executablePath: CHROMIUM!, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  return browser;
}
after(async () => {
  if (browser) await (await browser.catch(() => null))?.close();
});

/**
 * Starts Hookline (in-memory SQLite, fast retries; `config`/`overrides` as startHookline takes
 * them) and a fresh browser context on a 1280×800 page at the console.
 */
export async function startConsole(t: TestContext, config: Partial<Config> = {}, overrides: Overrides = {}): Promise<ConsoleHarness> {
  if (!CHROMIUM) throw new Error(String(BROWSER_SKIP));
  const server = await startHookline(config, overrides);
  const context = await sharedBrowser()
    .then((b) => b.newContext({ viewport: { width: 1280, height: 800 } }))
    .catch(async (err: unknown) => {
      await server.stop();
      throw err;
    });
  // One hook, the browser first: t.after hooks run in the order they were added, and a server
  // stopped under an open page waited on the page's connections (~60 s in 5 of 28 settings
  // tests) before it ended.
  t.after(async () => {
    await context.close();
    await server.stop();
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  const url = `${server.url}/console/`;
  await page.goto(url);
  return { page, context, server, url, errors };
}

/** Signs in with `key` (the bootstrap key by default) and waits for the navigation. */
export async function signIn(page: Page, key: string = API_KEY): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation').getByRole('link', { name: 'Calls' }).waitFor();
}

/**
 * Polls `cond` until it holds (truthy), for assertions on things a locator cannot wait for:
 * `await expect(() => rx.requests.length === 2, 'two deliveries')`.
 */
export function expect<T>(cond: () => T | Promise<T>, what = 'condition', timeoutMs = 15_000): Promise<NonNullable<T>> {
  return waitFor(cond, timeoutMs, what);
}

export const SCREENSHOT_DIR = process.env.HOOKLINE_SCREENSHOTS || null;

/** With HOOKLINE_SCREENSHOTS=dir set, a PNG of the page (the viewport, 1280×800) as dir/name.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOT_DIR) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled' });
}
