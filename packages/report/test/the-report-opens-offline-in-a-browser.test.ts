import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import {
  describeWithChromium,
  launchChromium,
  openOffline,
  saveScreenshot,
} from '../../../tooling/test-env/browser.js';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import type { ReportData } from '../src/index.js';
import { syntheticExpectations, writeSyntheticStore } from './synthetic-store.js';

const FAILING = join(__dirname, 'fixtures', 'failing.ts');

/** Writes the report of `locator` to `html` with the built CLI and returns its JSON twin. */
async function report(locator: string, html: string): Promise<ReportData> {
  const written = await runToil(['report', locator, '-o', html]);
  expect(written.stderr.split('\n').filter((l: string) => l.startsWith('toil: error'))).toEqual([]);
  expect(written.code).toBe(0);
  expect(written.stdout).toContain(`to ${html} (`);
  const json = await runToil(['report', locator, '--json']);
  expect(json.code).toBe(0);
  return JSON.parse(json.stdout) as ReportData;
}

/** The texts of the elements matching `selector`. */
function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (nodes) => nodes.map((n) => (n.textContent ?? '').trim()));
}

/** Clicks the sort button of `column` in table `id` and returns the first cells of its rows. */
async function sortBy(page: Page, id: string, column: string): Promise<string[]> {
  const buttons = await page.$$(`#${id} thead tr:last-child th button`);
  for (const button of buttons) {
    if ((await button.evaluate((b) => b.textContent)) === column) await button.click();
  }
  return texts(page, `#${id} tbody tr > :first-child`);
}

/** Names and count lines of the job graph's boxes, with whether each is marked failed. */
function graphBoxes(page: Page): Promise<Array<{ name: string; count: string; failed: boolean }>> {
  return page.$$eval('#graph g.node', (nodes) =>
    nodes.map((n) => ({
      name: n.getAttribute('data-name') ?? '',
      count: n.querySelector('text.count')?.textContent ?? '',
      failed: n.classList.contains('failed'),
    })),
  );
}

describeWithChromium('toil report in a real browser', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'toil-report-'));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the seed example: its three job names, chained, completed, with sortable tables', async () => {
    const locator = `file:${join(dir, 'seed')}`;
    const run = await runToil([
      'run',
      join(REPO_ROOT, 'examples', 'discoverfiles.ts'),
      locator,
      '--stats',
    ]);
    expect(run.code).toBe(0);
    const html = join(dir, 'seed.html');
    const data = await report(locator, html);
    expect(data.summary).toMatchObject({
      state: 'completed',
      jobs: 3,
      jobAttempts: 3,
      failedAttempts: 0,
    });

    const { page, errors, requests } = await openOffline(browser, html);
    await saveScreenshot(page, 'report-seed');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await texts(page, '.state')).toEqual(['completed']);
    expect(await graphBoxes(page)).toEqual([
      { name: 'sysFiles', count: '1 job', failed: false },
      { name: 'userFiles', count: '1 job', failed: false },
      { name: 'DiscoverFiles', count: '1 job', failed: false },
    ]);
    expect(await page.$$eval('#graph path.edge', (edges) => edges.length)).toBe(2);
    expect(await page.$$eval('#timeline rect.attempt', (rects) => rects.length)).toBe(3);
    expect(await sortBy(page, 'job-types', 'name')).toEqual([
      'DiscoverFiles',
      'sysFiles',
      'userFiles',
    ]);
    expect(await sortBy(page, 'job-types', 'name')).toEqual([
      'userFiles',
      'sysFiles',
      'DiscoverFiles',
    ]);
    expect(await texts(page, '#failures p')).toEqual(['No job failed for good.']);
    await page.close();
  });

  it('shows failed attempts, retries, a restart and the log tail of the job that failed for good', async () => {
    const locator = `file:${join(dir, 'failing')}`;
    const env = { TOIL_TEST_DIR: dir };
    const args = ['run', FAILING, locator, '--stats', '--retryCount', '1'];
    expect((await runToil(args, { env })).code).toBe(1);
    writeFileSync(join(dir, 'fixed'), '');
    expect((await runToil([...args, '--restart'], { env })).code).toBe(1);
    const html = join(dir, 'failing.html');
    const data = await report(locator, html);
    // flaky: 1 failed try; broken: 2 failed tries, then fixed after the restart; doomed: 2 + 2.
    expect(data.summary).toMatchObject({
      state: 'failed',
      restarts: 1,
      jobAttempts: 14,
      failedAttempts: 7,
      retriedJobs: 3,
      failedJobs: 2,
    });
    expect(data.summary.runs.map((r) => [r.attempt, r.result, r.jobAttempts])).toEqual([
      [0, 'incomplete', 11],
      [1, 'failed', 3],
    ]);

    const { page, errors, requests } = await openOffline(browser, html);
    await saveScreenshot(page, 'report-failures-and-restart');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await texts(page, '.state')).toEqual(['failed']);
    expect(await texts(page, '#runs tbody td:first-child')).toEqual(['first run', 'restart 1']);
    expect(await page.$$eval('#timeline line.restart', (lines) => lines.length)).toBe(1);
    expect(await page.$$eval('#timeline rect.attempt.failed', (rects) => rects.length)).toBe(7);
    // flaky's and broken's successful tries came after failed ones.
    expect(await page.$$eval('#timeline rect.attempt.retry', (rects) => rects.length)).toBe(2);
    const boxes = await graphBoxes(page);
    expect(
      boxes
        .filter((b) => b.failed)
        .map((b) => b.name)
        .sort(),
    ).toEqual(['doomed', 'fanOut']);
    expect(boxes.find((b) => b.name === 'work')).toEqual({
      name: 'work',
      count: '4 jobs',
      failed: false,
    });
    expect(await texts(page, '#failures summary strong')).toEqual(['doomed', 'fanOut']);
    expect((await texts(page, '#failures pre'))[0]).toContain('doomed: the disk is on fire');
    // Most failed attempts first when the "failed" column is sorted twice (descending).
    await sortBy(page, 'job-types', 'failed');
    expect((await sortBy(page, 'job-types', 'failed'))[0]).toBe('doomed');
    await page.close();
  });

  it('keeps a 10,000-job store small and readable: lanes aggregated, names grouped, failures listed', async () => {
    const jobs = 10_000;
    const expected = syntheticExpectations(jobs);
    const locator = `file:${join(dir, 'big')}`;
    await writeSyntheticStore(locator, jobs);
    const html = join(dir, 'big.html');
    const data = await report(locator, html);
    expect(statSync(html).size).toBeLessThan(500 * 1024);
    expect(data.timeline.mode).toBe('aggregated');
    expect(data.summary).toMatchObject({
      jobs,
      jobAttempts: expected.attempts,
      failedAttempts: expected.failedAttempts,
      failedJobs: expected.failedIds.length,
      restarts: 1,
      workers: 8,
      hosts: ['node-1', 'node-2', 'node-3', 'node-4'],
    });

    const { page, errors, requests } = await openOffline(browser, html);
    await saveScreenshot(page, 'report-10000-jobs');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.$$eval('#timeline path.busy', (paths) => paths.length)).toBe(8);
    expect(await page.$$eval('#timeline rect.attempt.failed', (r) => r.length)).toBe(
      expected.failedAttempts,
    );
    const boxes = await graphBoxes(page);
    // The failed jobs are the last ones, so all of the last name.
    const last = [...expected.jobsByName.keys()].pop();
    expect(boxes.map((b) => [b.name, b.count])).toEqual(
      [...expected.jobsByName].map(([name, n]) => {
        const tries = expected.failedTriesByName.get(name) ?? 0;
        const extra =
          name === last
            ? ` · ${expected.failedIds.length} failed`
            : tries > 0
              ? ` · ${tries} failed tries`
              : '';
        return [name, `${n} job${n === 1 ? '' : 's'}${extra}`];
      }),
    );
    expect(boxes.filter((b) => b.failed).map((b) => b.name)).toEqual([last]);
    expect(await texts(page, '#failures code')).toEqual([...expected.failedIds].sort());
    const byJobs = await sortBy(page, 'groups', 'jobs');
    expect(byJobs[0]).toBe('root');
    expect((await sortBy(page, 'groups', 'jobs'))[0]).toBe(last);
    await page.close();
  });
});
