import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { localNodeId } from '@toil/core';
import {
  epochSecondsNow,
  openJobStore,
  type JobRecord,
  type JobStore,
  type JobStoreSummary,
  type LeaderInfo,
  type Outcome,
  type StatsRecord,
  type WorkflowConfig,
} from '@toil/jobstore';
import { seedConfig } from './fixtures.js';

/** A temporary directory removed by {@link removeScratch}. */
export function scratchDir(prefix = 'toil-stats-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a scratch directory. */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * For a `describe` block (or a test file): makes a scratch directory before its tests and
 * removes it after them. Returns a function giving a path in it (`scratch('seed')`), or the
 * directory itself (`scratch()`); call it inside tests and hooks.
 */
export function useScratchDir(prefix?: string): (...parts: string[]) => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = scratchDir(prefix);
  });
  afterAll(() => {
    if (dir !== undefined) removeScratch(dir);
  });
  return (...parts) => {
    if (dir === undefined) throw new Error('useScratchDir: the directory exists inside tests only');
    return join(dir, ...parts);
  };
}

/** The pid of a process that has certainly exited. */
export function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

/** A job record with the defaults of a fresh job. */
export function jobRecord(id: string, name: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    v: 1,
    id,
    jobName: name,
    displayName: name,
    version: 1,
    state: 'ready',
    requirements: { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptible: false },
    checkpoint: false,
    remainingTryCount: 2,
    children: [],
    followOns: [],
    services: [],
    isService: false,
    predecessors: [],
    body: {},
    ...overrides,
  };
}

/** What a fixture store holds. */
export interface StoreFixture {
  config?: Partial<WorkflowConfig>;
  /** Saved as the root job id (need not exist: an absent root means completed). */
  rootId?: string;
  jobs?: JobRecord[];
  stats?: StatsRecord[];
  leader?: LeaderInfo;
  outcome?: Outcome;
  summary?: JobStoreSummary;
}

/**
 * Builds a job store through the JobStore API, as a leader would leave it, and closes it.
 * Returns its locator.
 */
export async function buildStore(locator: string, fixture: StoreFixture = {}): Promise<string> {
  const store: JobStore = await openJobStore(locator);
  try {
    await store.create(seedConfig(fixture.config));
    if (fixture.jobs && fixture.jobs.length > 0)
      await store.commit(fixture.jobs.map((record) => ({ op: 'put' as const, record })));
    if (fixture.rootId !== undefined) await store.setRootJobId(fixture.rootId);
    // Concurrent appends share group commits (as a pool of workers' do), so 25,000 are quick.
    const stats = fixture.stats ?? [];
    for (let i = 0; i < stats.length; i += 5000)
      await Promise.all(stats.slice(i, i + 5000).map((record) => store.appendStats(record)));
    if (fixture.leader) await store.setLeader(fixture.leader);
    if (fixture.outcome) await store.setOutcome(fixture.outcome);
    if (fixture.summary) await store.writeSummary(fixture.summary);
    return store.locator;
  } finally {
    await store.close();
  }
}

/**
 * {@link buildStore} with one job, `root` (a fresh job named `root`), saved as the root job;
 * `fixture` adds to it. Returns the locator.
 */
export function buildStoreWithRootJob(
  locator: string,
  fixture: StoreFixture = {},
): Promise<string> {
  return buildStore(locator, { rootId: 'root', jobs: [jobRecord('root', 'root')], ...fixture });
}

/** Opens the store at `locator`, returns what `read` reads from it, and closes it. */
export async function readStore<T>(
  locator: string,
  read: (store: JobStore) => Promise<T>,
): Promise<T> {
  const store = await openJobStore(locator);
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

/** Leader info for a process on this machine, recorded now. */
export function localLeader(pid: number, overrides: Partial<LeaderInfo> = {}): LeaderInfo {
  return {
    pid,
    nodeId: localNodeId(),
    hostname: hostname(),
    startedAt: epochSecondsNow(),
    attempt: 0,
    ...overrides,
  };
}

/** Leader info for process `pid` on another machine (`node-7`). */
export function remoteLeader(pid: number): LeaderInfo {
  return { ...localLeader(pid), nodeId: 'another-machine', hostname: 'node-7' };
}

/** A summary with the given counts (the rest zero). */
export function summary(counts: Partial<JobStoreSummary> = {}): JobStoreSummary {
  return {
    v: 1,
    updatedAt: epochSecondsNow(),
    attempt: 0,
    unfinished: 0,
    withChildren: 0,
    withServices: 0,
    services: 0,
    totallyFailed: 0,
    running: 0,
    ready: 0,
    completed: 0,
    ...counts,
  };
}

/** What {@link startFakeLeader} starts. */
export interface FakeLeaderOptions {
  /** The store whose outcome it records when it is stopped. */
  locator: string;
  /** How many worker processes it starts (default 0). */
  workers?: number;
  /** Whether it ignores SIGTERM. */
  ignoreTerm?: boolean;
  /** The batch ids it records as killed. */
  killedBatchIds?: string[];
}

/** A running fake leader and the pids of its workers. */
export interface FakeLeader {
  child: ChildProcess;
  workerPids: number[];
}

/**
 * A real process standing in for a leader: it starts `workers` child processes, prints
 * `{"workers":[pids]}` once they run, and on SIGTERM (unless `ignoreTerm`) kills them, records
 * the outcome `killed` with `killedBatchIds` in `locator` through the built @toil/jobstore, and
 * exits, as the workflow leader does.
 */
export async function startFakeLeader(options: FakeLeaderOptions): Promise<FakeLeader> {
  const jobstoreDist = join(__dirname, '..', '..', 'jobstore', 'dist', 'index.js');
  const script = `
    const { spawn } = require('node:child_process');
    const workers = [];
    for (let i = 0; i < ${options.workers ?? 0}; i++)
      workers.push(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
    Promise.all(workers.map((w) => new Promise((r) => w.once('spawn', r)))).then(() =>
      process.stdout.write(JSON.stringify({ workers: workers.map((w) => w.pid) }) + '\\n'));
    setInterval(() => {}, 1000);
    process.on('SIGTERM', async () => {
      if (${Boolean(options.ignoreTerm)}) return;
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exitCode !== null || w.signalCode !== null ? null : new Promise((r) => w.once('exit', r))));
      const { openJobStore } = await import(${JSON.stringify(jobstoreDist)});
      const store = await openJobStore(${JSON.stringify(options.locator)});
      await store.setOutcome({ result: 'killed', attempt: 0, time: Date.now() / 1000, failedJobs: [],
        killedBatchIds: ${JSON.stringify(options.killedBatchIds ?? [])} });
      await store.close();
      process.exit(1);
    });
  `;
  // Jest gives tests their own process.env; pass it on so the leader sees e.g. moto's endpoint.
  const child = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`fake leader exited early (${code})`)));
  });
  return { child, workerPids: (JSON.parse(line) as { workers: number[] }).workers };
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Runs `body` with a {@link startFakeLeader} fake leader, then SIGKILLs the leader and waits
 * until it has exited, whether `body` passed or failed.
 */
export async function withFakeLeader<T>(
  options: FakeLeaderOptions,
  body: (leader: FakeLeader) => Promise<T>,
): Promise<T> {
  const leader = await startFakeLeader(options);
  try {
    return await body(leader);
  } finally {
    leader.child.kill('SIGKILL');
    await exited(leader.child);
  }
}
