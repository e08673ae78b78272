// Headless Chromium for tests of the HTML the CLI writes: Debian's `chromium` package
// (tooling/test-env/install-system-deps.sh), driven by puppeteer-core, which downloads no
// browser. Pages are opened offline: every request other than the file itself is refused
// and recorded, so a test sees whether the page needed the network.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { REPO_ROOT } from './cli.js';
import { describeWithComponent } from './component.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Where browser tests save screenshots (`TOIL_TEST_ARTIFACTS`, else `<repo>/test-artifacts`). */
export const ARTIFACTS_DIR = process.env.TOIL_TEST_ARTIFACTS ?? join(REPO_ROOT, 'test-artifacts');

/** The Chromium executable (`CHROMIUM_PATH`, else Debian's), or undefined when there is none. */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

/**
 * `describe` when Chromium is installed; otherwise a loud warning and a skipped block, or,
 * under `CI=true`, a failing one: CI must run the browser tests.
 */
export function describeWithChromium(name: string, body: () => void): void {
  const reason =
    chromiumPath() === undefined
      ? 'Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)'
      : undefined;
  describeWithComponent('Chromium', reason, name, body);
}

/** Starts headless Chromium (one per test file: starting it is the slow part). */
export function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error('Chromium is not installed');
  return puppeteer.launch({
    executablePath,
    headless: true,
    // Root in a container has no user namespace sandbox; the pages are our own files.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}

/** A page opened offline, with what went wrong while it loaded and ran. */
export interface OfflinePage {
  page: Page;
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
  /** Requests the page tried to make besides its own file (all refused). */
  requests: string[];
}

/** Opens `file` (an absolute path) with the network off, in a fresh page of `browser`. */
export async function openOffline(
  browser: Browser,
  file: string,
  viewport = { width: 1280, height: 900 },
): Promise<OfflinePage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  const url = `file://${file}`;
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.setOfflineMode(true);
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (request.url() === url) void request.continue();
    else {
      requests.push(request.url());
      void request.abort();
    }
  });
  await page.setViewport(viewport);
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests };
}

/** Saves a full-page screenshot as `<ARTIFACTS_DIR>/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
