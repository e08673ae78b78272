import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ToilError } from '@toil/core';
import { FileJobStore, openJobStore, type EpochSeconds, type JobStore } from '@toil/jobstore';
import { sampleConfig, sampleJob, sampleStats } from '@toil/jobstore/testing';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'toil-file-store-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const s = statSync(path);
    out[path] = `${s.mode.toString(8)} ${s.size} ${s.mtimeMs}`;
  }
  return out;
}

async function drain<T>(items: AsyncIterable<T>): Promise<number> {
  let n = 0;
  for await (const _ of items) n++;
  return n;
}

async function populated(name: string): Promise<{ store: JobStore; path: string }> {
  const path = join(root, name);
  const store = await openJobStore(`file:${path}`);
  await store.create(sampleConfig());
  await store.commit([{ op: 'put', record: sampleJob('job-1') }]);
  await store.writeFileFromStream(Readable.from([Buffer.from('x')]), {
    jobId: 'job-1',
    cleanup: true,
  });
  await store.appendStats(sampleStats(1));
  await store.writeSummary({
    v: 1,
    updatedAt: 1 as EpochSeconds,
    attempt: 0,
    unfinished: 1,
    withChildren: 0,
    withServices: 0,
    services: 0,
    totallyFailed: 0,
    running: 0,
    ready: 1,
    completed: 0,
  });
  return { store, path };
}

it('creates directories 0700 and files 0600', async () => {
  const { store, path } = await populated('private');
  for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
    const mode = statSync(join(entry.parentPath, entry.name)).mode & 0o777;
    expect([entry.name, mode.toString(8)]).toEqual([
      entry.name,
      entry.isDirectory() ? '700' : '600',
    ]);
  }
  expect(statSync(path).mode & 0o777).toBe(0o700);
  await store.close();
});

it('never changes the store when reading it (what toil stats and status do)', async () => {
  const { store, path } = await populated('read-only');
  await store.close();
  const before = snapshot(path);
  const reader = await openJobStore(`file:${path}`);
  await reader.resume();
  expect(await drain(reader.listJobs())).toBe(1);
  expect(await drain(reader.listJobIds())).toBe(1);
  expect(await drain(reader.readStats())).toBe(1);
  expect(await reader.readSummary()).toMatchObject({ unfinished: 1 });
  expect(await reader.getLeader()).toBeUndefined();
  expect(await reader.jobExists('job-1')).toBe(true);
  await reader.close();
  expect(snapshot(path)).toEqual(before);
});

it('ignores a half-written last log line, which a killed writer leaves, but not a damaged one before it', async () => {
  const { store, path } = await populated('torn');
  await store.close();
  const log = readdirSync(join(path, 'jobs')).find((n) => n.endsWith('.log'))!;
  // A killed writer never marked its log finished.
  rmSync(join(path, 'jobs', `${log.slice(0, -4)}.done`));
  writeFileSync(join(path, 'jobs', log), '{"s":99999999999999999,"id":"job-1","r":{"v":1', {
    flag: 'a',
  });
  const reader = await openJobStore(`file:${path}`);
  expect((await reader.loadJob('job-1')).id).toBe('job-1');
  await reader.close();
  // A complete line after the torn one turns it into damage inside the log.
  writeFileSync(join(path, 'jobs', log), '\n{"s":1,"id":"job-2","d":true}\n', { flag: 'a' });
  const fresh = await openJobStore(`file:${path}`);
  await expect(fresh.loadJob('job-1')).rejects.toMatchObject({ code: 'JOBSTORE_CORRUPT' });
  await fresh.close();
});

it('reports a truncated last record of a finished job or stats log as damage naming the file', async () => {
  const { store, path } = await populated('cut');
  await store.appendStats(sampleStats(1));
  await store.appendStats(sampleStats(2));
  await store.close();
  for (const dir of ['stats', 'jobs']) {
    const log = readdirSync(join(path, dir)).find((n) => n.endsWith('.log'))!;
    expect(readdirSync(join(path, dir))).toContain(`${log.slice(0, -4)}.done`);
    const file = join(path, dir, log);
    truncateSync(file, statSync(file).size - 10);
    const reader = await openJobStore(`file:${path}`);
    const reading =
      dir === 'stats' ? drain(reader.readStats()) : reader.loadJob('job-1').then(() => 1);
    try {
      await expect(reading).rejects.toMatchObject({
        code: 'JOBSTORE_CORRUPT',
        message: expect.stringContaining(file),
      });
    } finally {
      await reader.close();
    }
  }
});

it('refuses to destroy a directory that is not a job store', async () => {
  const path = join(root, 'precious');
  mkdirSync(path);
  writeFileSync(join(path, 'thesis.tex'), 'years of work');
  const store = await openJobStore(`file:${path}`);
  let caught: unknown;
  try {
    await store.destroy();
  } catch (error) {
    caught = error;
  }
  expect(ToilError.is(caught) && caught.code).toBe('NOT_A_JOBSTORE');
  expect(statSync(join(path, 'thesis.tex')).size).toBe(13);
  await store.close();
});

it('reads its marker once to resume (every one-shot worker resumes the store)', async () => {
  const path = join(root, 'resumed-once');
  const config = sampleConfig();
  const creator = await openJobStore(`file:${path}`);
  await creator.create(config);
  await creator.close();
  let reads = 0;
  class Counting extends FileJobStore {
    protected override async readMarker(): Promise<string | undefined> {
      reads++;
      return super.readMarker();
    }
  }
  const store = new Counting(`file:${path}`);
  expect((await store.resume()).workflowId).toBe(config.workflowId);
  expect(reads).toBe(1);
  await store.close();
});

it('calls a regular file or another directory "not a job store", not a damaged one', async () => {
  const file = join(root, 'notes.txt');
  writeFileSync(file, 'notes');
  const dir = join(root, 'papers');
  mkdirSync(dir);
  writeFileSync(join(dir, 'thesis.tex'), 'years of work');
  for (const [path, what] of [
    [file, 'it is a file'],
    [dir, 'it holds thesis.tex'],
  ] as const) {
    const store = await openJobStore(`file:${path}`);
    for (const attempt of [() => store.resume(), () => store.create(sampleConfig())]) {
      await expect(attempt()).rejects.toMatchObject({
        code: 'NOT_A_JOBSTORE',
        message: `${path} is not a job store: ${what}.`,
      });
    }
    await store.close();
  }
  expect(readdirSync(dir)).toEqual(['thesis.tex']);
  // A directory with only what a store holds is a half-created store: damaged, and cleanable.
  const half = join(root, 'half');
  mkdirSync(join(half, 'jobs'), { recursive: true });
  const store = await openJobStore(`file:${half}`);
  await expect(store.resume()).rejects.toMatchObject({ code: 'JOBSTORE_CORRUPT' });
  await store.close();
});

it('refuses a store written by another format version', async () => {
  const { store, path } = await populated('future');
  await store.close();
  writeFileSync(join(path, 'jobstore.json'), JSON.stringify({ format: 2, kind: 'file' }));
  const reader = await openJobStore(`file:${path}`);
  await expect(reader.resume()).rejects.toMatchObject({ code: 'JOBSTORE_INCOMPATIBLE' });
  await reader.close();
});

/**
 * A new store in `root/name`, its creator and a long-lived writer (like a leader) that
 * compacts once it has seen `compactAfter` closed logs.
 */
async function compactingStore(name: string, compactAfter: number) {
  const path = join(root, name);
  const locator = `file:${path}`;
  const creator = await openJobStore(locator);
  await creator.create(sampleConfig());
  const { FileJobStore } = await import('@toil/jobstore');
  return { path, locator, creator, leader: new FileJobStore(locator, { compactAfter }) };
}

it('compacts the logs of closed writers without losing or resurrecting jobs', async () => {
  // The leader's log stays active, holding an early version of a job that a closed writer
  // deletes later: the deletion must survive compaction.
  const { path, locator, creator, leader } = await compactingStore('compacted', 8);
  await leader.commit([
    { op: 'put', record: sampleJob('doomed') },
    { op: 'put', record: sampleJob('shared', { version: 0 }) },
  ]);
  const staleReader = await openJobStore(locator);
  expect(await staleReader.jobExists('doomed')).toBe(true);
  for (let w = 0; w < 12; w++) {
    const worker = await openJobStore(locator);
    await worker.commit([
      { op: 'put', record: sampleJob(`worker-${w}`, { version: w }) },
      { op: 'put', record: sampleJob('shared', { version: w + 1 }) },
      ...(w === 5 ? [{ op: 'delete' as const, id: 'doomed' }] : []),
      ...(w > 0 ? [{ op: 'delete' as const, id: `worker-${w - 1}` }] : []),
    ]);
    await worker.close();
  }
  // A writer that exits without close() leaves no .done marker: its log is merged once its
  // process is gone.
  const orphan = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { openJobStore } = await import(${JSON.stringify(join(__dirname, '..', 'src', 'index.ts'))});
       const { sampleJob } = await import(${JSON.stringify(join(__dirname, '..', 'src', 'testing.ts'))});
       const store = await openJobStore(${JSON.stringify(locator)});
       await store.commit([{ op: 'put', record: sampleJob('orphan') }]);
       process.exit(0);`,
    ],
    { encoding: 'utf8' },
  );
  expect(orphan.stderr).toBe('');
  expect(orphan.status).toBe(0);
  const before = readdirSync(join(path, 'jobs')).filter((n) => n.endsWith('.log')).length;
  expect(before).toBe(14);
  expect(await leader.jobExists('shared')).toBe(true); // the leader sees 12 finished logs
  await leader.commit([{ op: 'put', record: sampleJob('after', { version: 1 }) }]);
  const files = readdirSync(join(path, 'jobs'));
  expect(files.filter((n) => n.endsWith('.snap'))).toHaveLength(1);
  expect(files.filter((n) => n.endsWith('.log'))).toHaveLength(1);
  expect(files.filter((n) => n.endsWith('.done') || n === 'compact.lock')).toEqual([]);
  const freshReader = await openJobStore(locator);
  for (const reader of [staleReader, freshReader, leader]) {
    expect(await reader.jobExists('doomed')).toBe(false);
    expect((await reader.loadJob('shared')).version).toBe(12);
    expect((await reader.loadJob('worker-11')).version).toBe(11);
    expect(await reader.jobExists('worker-10')).toBe(false);
    const ids: string[] = [];
    for await (const job of reader.listJobs()) ids.push(job.id);
    expect(ids.sort()).toEqual(['after', 'orphan', 'shared', 'worker-11']);
  }
  await Promise.all([creator, leader, staleReader, freshReader].map((store) => store.close()));
});

it('never merges away what a writer appended and closed while a compaction read the logs', async () => {
  // The leader's log stays active and holds the job's `running` record.
  const { path, locator, creator, leader } = await compactingStore('compaction-race', 2);
  await leader.commit([{ op: 'put', record: sampleJob('leaf') }]);
  for (let w = 0; w < 2; w++) {
    const writer = await openJobStore(locator);
    await writer.commit([{ op: 'put', record: sampleJob(`other-${w}`) }]);
    await writer.close();
  }
  expect(await leader.jobExists('leaf')).toBe(true); // the leader now sees two closed logs
  // A one-shot worker records the leaf's completion and exits just after the compaction
  // (started by the leader's next commit) read the logs, before it lists which are final.
  const worker = await openJobStore(locator);
  expect(await worker.jobExists('leaf')).toBe(true);
  const internals = leader as unknown as { refresh(full?: boolean): Promise<void> };
  const refresh = internals.refresh.bind(leader);
  let raced = false;
  internals.refresh = async (full) => {
    await refresh(full);
    if (!full || raced) return;
    raced = true;
    await worker.commit([{ op: 'delete', id: 'leaf' }]);
    await worker.close();
  };
  await leader.commit([{ op: 'put', record: sampleJob('next') }]);
  expect(raced).toBe(true);
  expect(readdirSync(join(path, 'jobs')).filter((n) => n.endsWith('.snap'))).toHaveLength(1);
  const fresh = await openJobStore(locator);
  for (const reader of [fresh, leader]) expect(await reader.jobExists('leaf')).toBe(false);
  await Promise.all([creator, leader, fresh].map((store) => store.close()));
});

it('closes every read handle it opens, also beyond its cache of open logs', async () => {
  const path = join(root, 'many-logs');
  const first = await openJobStore(`file:${path}`);
  await first.create(sampleConfig());
  // Each open writer keeps its own log, so 140 writers leave more logs than the reader caches.
  const writers = [first];
  for (let i = 0; i < 140; i++) {
    const writer = await openJobStore(`file:${path}`);
    await writer.resume();
    await writer.commit([{ op: 'put', record: sampleJob(`job-${i}`) }]);
    writers.push(writer);
  }
  // Only descriptors into this store count: the jest worker also holds (and garbage-collects)
  // descriptors of other test files, which made a process-wide count flaky.
  const openFds = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
      } catch {
        return false;
      }
    }).length;
  const before = openFds();
  const reader = await openJobStore(`file:${path}`);
  for (let i = 0; i < 140; i++) expect((await reader.loadJob(`job-${i}`)).id).toBe(`job-${i}`);
  await reader.close();
  expect(openFds()).toBe(before);
  await Promise.all(writers.map((w) => w.close()));
});
