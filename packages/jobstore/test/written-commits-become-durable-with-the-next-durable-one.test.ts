import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJobStore } from '@toil/jobstore';
import { sampleConfig, sampleJob } from '@toil/jobstore/testing';

const root = mkdtempSync(join(tmpdir(), 'toil-written-commits-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Counts the fdatasync calls of every FileHandle while `work` runs. */
async function datasyncsDuring(work: () => Promise<void>): Promise<number> {
  const probe = await open(join(root, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
  await probe.close();
  const spy = jest.spyOn(proto, 'datasync');
  try {
    await work();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe("the file store's written commits", () => {
  it('cost no fdatasync; the next durable commit syncs them with its own in one', async () => {
    const locator = `file:${join(root, 'chain')}`;
    const store = await openJobStore(locator);
    await store.create(sampleConfig());
    await store.commit([{ op: 'put', record: sampleJob('first') }]);

    const written = await datasyncsDuring(async () => {
      for (let version = 1; version <= 20; version++)
        await store.commit([{ op: 'put', record: sampleJob('chained', { version }) }], {
          durability: 'written',
        });
    });
    expect(written).toBe(0);
    // Written to the OS already: a reader of the log (another process) sees the last one.
    const reader = await openJobStore(locator);
    expect((await reader.loadJob('chained')).version).toBe(20);

    const durable = await datasyncsDuring(() => store.commit([{ op: 'delete', id: 'chained' }]));
    expect(durable).toBe(1);
    await Promise.all([store.close(), reader.close()]);
  });

  it('are made durable by close() when no durable commit followed them', async () => {
    const locator = `file:${join(root, 'close')}`;
    const store = await openJobStore(locator);
    await store.create(sampleConfig());
    await store.commit([{ op: 'put', record: sampleJob('only') }], { durability: 'written' });
    const closing = await datasyncsDuring(() => store.close());
    expect(closing).toBe(1);
    const logs = readdirSync(join(root, 'close', 'jobs')).filter((name) => name.endsWith('.log'));
    expect(
      logs.map((name) => readFileSync(join(root, 'close', 'jobs', name), 'utf8')).join(''),
    ).toContain('"id":"only"');
  });
});
