import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openJobStore } from '@toil/jobstore';
import { sampleConfig } from '@toil/jobstore/testing';
import { WorkerFileCache } from '../src/file-cache.js';
import { REPO_ROOT } from '../../../tooling/test-env/cli.js';
import { runWorkflow, scratch } from './helpers.js';

const FILES = join(REPO_ROOT, 'packages', 'workflow', 'test', 'fixtures', 'files.ts');

describe("the file store's readGlobalFile choices and id-first writeGlobalFileStream", () => {
  it('gives the id before the content, and shared read-only, private and uncached copies', async () => {
    const dir = scratch();
    const out = join(dir, 'out.txt');
    const result = await runWorkflow(FILES, [
      `file:${join(dir, 'store')}`,
      '--case',
      'ids',
      '--out',
      out,
    ]);
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n').filter(Boolean)).toEqual([
      'content "first line\\nsecond line\\n"',
      'same path for two reads: true',
      'shared copy writable: false',
      'mutable copy is another file: true',
      'mutable copy writable: true',
      'shared copy after changing mine "first line\\nsecond line\\n"',
      'uncached copy is another file: true',
      'uncached copy writable: false',
    ]);
  });

  it('fails a job that never ends its writeGlobalFileStream() stream, naming the file', async () => {
    const dir = scratch();
    const result = await runWorkflow(FILES, [
      `file:${join(dir, 'store')}`,
      '--case',
      'neverEnds',
      '--retryCount',
      '0',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /never ended the stream of writeGlobalFileStream\(\) for file \S+/,
    );
  });
});

describe("a worker's file cache", () => {
  async function storeWith(
    texts: string[],
  ): Promise<{ store: Awaited<ReturnType<typeof openJobStore>>; ids: string[]; dir: string }> {
    const dir = scratch();
    const store = await openJobStore(`file:${join(dir, 'store')}`);
    await store.create(sampleConfig());
    const ids: string[] = [];
    for (const text of texts)
      ids.push(await store.writeFileFromStream(Readable.from([Buffer.from(text)])));
    return { store, ids, dir };
  }

  it('copies a file once, read-only, and does not serve a file the store no longer has', async () => {
    const { store, ids, dir } = await storeWith(['hello']);
    const cache = new WorkerFileCache(join(dir, 'cache'));
    const first = await cache.get(store, ids[0]!);
    expect(readFileSync(first, 'utf8')).toBe('hello');
    expect(statSync(first).mode & 0o777).toBe(0o444);
    expect(await cache.get(store, ids[0]!)).toBe(first);
    await store.deleteFile(ids[0]!);
    await expect(cache.get(store, ids[0]!)).rejects.toThrow();
    await store.close();
  });

  it("evicts the least recently read files of earlier attempts, never the running attempt's", async () => {
    const { store, ids, dir } = await storeWith(['aaaa', 'bbbb', 'cccc']);
    const cache = new WorkerFileCache(join(dir, 'cache'), 8);
    const a = await cache.get(store, ids[0]!);
    const b = await cache.get(store, ids[1]!);
    const c = await cache.get(store, ids[2]!);
    // One attempt: over the limit, but everything it read stays.
    expect([a, b, c].every((path) => statSync(path, { throwIfNoEntry: false }))).toBe(true);
    cache.nextAttempt();
    expect(await cache.get(store, ids[2]!)).toBe(c);
    const a2 = await cache.get(store, ids[0]!);
    // The new attempt read c and a again: a and b (earlier attempt) went to make room; a was
    // copied again.
    expect(statSync(b, { throwIfNoEntry: false })).toBeUndefined();
    expect(statSync(c, { throwIfNoEntry: false })).toBeDefined();
    expect(readFileSync(a2, 'utf8')).toBe('aaaa');
    await store.close();
  });
});
