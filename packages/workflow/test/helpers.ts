import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { openJobStore, type JobRecord, type JobStore, type StatsRecord } from '@toil/jobstore';
import { REPO_ROOT, runCommand, type CommandResult } from '../../../tooling/test-env/cli.js';

/** The test workflows (one file, the case chosen by TOIL_TEST_CASE). */
export const FIXTURE = join(REPO_ROOT, 'packages', 'workflow', 'test', 'fixtures', 'workflows.ts');
/** The seed example. */
export const EXAMPLE = join(REPO_ROOT, 'examples', 'discoverfiles.ts');

const tsx = pathToFileURL(
  createRequire(join(REPO_ROOT, 'packages', 'workflow', 'package.json')).resolve('tsx'),
).href;

/** A fresh scratch directory. */
export function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'toil-wf-test-'));
}

/** `node --import tsx FILE ARGS` with the test environment. */
export function workflowArgv(file: string, args: string[]): string[] {
  return [process.execPath, '--import', tsx, file, ...args];
}

/** Runs a workflow program to completion. */
export function runWorkflow(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandResult> {
  return runCommand(workflowArgv(file, args), {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
}

/** Starts a workflow program in the background. */
export function startWorkflow(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<CommandResult> } {
  const argv = workflowArgv(file, args);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CommandResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Polls `condition` every 50 ms until it holds; fails after `deadlineMs`. */
export async function waitFor<T>(
  what: string,
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  deadlineMs = 30000,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Lines a test workflow wrote to its TOIL_TEST_OUT file. */
export function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/** Opens an existing store, runs `use`, closes it. */
export async function withStore<T>(
  locator: string,
  use: (store: JobStore) => Promise<T>,
): Promise<T> {
  const store = await openJobStore(locator);
  try {
    await store.resume();
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Every job record and stats record of a store. */
export async function snapshot(
  locator: string,
): Promise<{ jobs: JobRecord[]; stats: StatsRecord[] }> {
  return withStore(locator, async (store) => {
    const jobs: JobRecord[] = [];
    for await (const job of store.listJobs()) jobs.push(job);
    const stats: StatsRecord[] = [];
    for await (const record of store.readStats()) stats.push(record);
    return { jobs, stats };
  });
}

/** True when a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The repository root. */
export const REPO_ROOT_FOR_TESTS = REPO_ROOT;
