import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ToilError } from '@toil/core';
import { openJobStore, type JobStore } from '@toil/jobstore';
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
    updatedAt: 1,
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
  const log = readdirSync(join(path, 'jobs'))[0]!;
  writeFileSync(join(path, 'jobs', log), '{"s":99999999999999999,"id":"job-1","r":{"v":1', {
    flag: 'a',
  });
  const reader = await openJobStore(`file:${path}`);
  expect((await reader.loadJob('job-1')).id).toBe('job-1');
  // A complete line after the torn one turns it into damage inside the log.
  writeFileSync(join(path, 'jobs', log), '\n{"s":1,"id":"job-2","d":true}\n', { flag: 'a' });
  const fresh = await openJobStore(`file:${path}`);
  await expect(fresh.loadJob('job-1')).rejects.toMatchObject({ code: 'JOBSTORE_CORRUPT' });
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
  expect(ToilError.is(caught) && caught.code).toBe('INVALID_ARGUMENT');
  expect(statSync(join(path, 'thesis.tex')).size).toBe(13);
});

it('refuses a store written by another format version', async () => {
  const { store, path } = await populated('future');
  await store.close();
  writeFileSync(join(path, 'jobstore.json'), JSON.stringify({ format: 2, kind: 'file' }));
  const reader = await openJobStore(`file:${path}`);
  await expect(reader.resume()).rejects.toMatchObject({ code: 'JOBSTORE_INCOMPATIBLE' });
});
