import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ToilError } from '@toil/core';
import { openJobStore } from '@toil/jobstore';
import { sampleConfig, sampleJob } from '@toil/jobstore/testing';

// A real full file system: a 2 MiB tmpfs. Mounting needs root.
const mountPoint = mkdtempSync(join(tmpdir(), 'toil-full-disk-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mountPoint], {
    stdio: 'pipe',
  });
  mounted = true;
} catch (error) {
  const message = `cannot mount a tmpfs (needs root): ${String(error).split('\n')[0]}`;
  if (process.env.CI === 'true') throw new Error(message, { cause: error });
  process.stderr.write(
    `\n${'!'.repeat(78)}\n!! SKIPPING the full-disk job store test: ${message}\n${'!'.repeat(78)}\n\n`,
  );
}

afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

(mounted ? it : it.skip)(
  'keeps every acknowledged record and no torn line when the disk fills up',
  async () => {
    const locator = `file:${join(mountPoint, 'store')}`;
    const store = await openJobStore(locator);
    await store.create(sampleConfig());
    const filler = await store.writeFileFromStream(Readable.from([Buffer.alloc(256 * 1024)]));
    const acknowledged: string[] = [];
    let failure: unknown;
    for (let batch = 0; batch < 100 && !failure; batch++) {
      const records = Array.from({ length: 20 }, (_, i) =>
        sampleJob(`full-${batch}-${i}`, { body: { padding: 'p'.repeat(5000) } }),
      );
      try {
        await store.commit(records.map((record) => ({ op: 'put' as const, record })));
        acknowledged.push(...records.map((r) => r.id));
      } catch (error) {
        failure = error;
      }
    }
    expect(ToilError.is(failure) && failure.code).toBe('JOBSTORE_IO');
    expect(acknowledged.length).toBeGreaterThan(0);

    // A stored file that does not fit fails cleanly and leaves no temp file behind.
    let fileFailure: unknown;
    try {
      await store.writeFileFromStream(Readable.from([Buffer.alloc(1024 * 1024)]));
    } catch (error) {
      fileFailure = error;
    }
    expect(ToilError.is(fileFailure) && fileFailure.code).toBe('JOBSTORE_IO');
    const leftovers = readdirSync(join(mountPoint, 'store', 'files'), { recursive: true }).filter(
      (name) => String(name).endsWith('.tmp'),
    );
    expect(leftovers).toEqual([]);

    // Space comes back: writing goes on, and every acknowledged job is intact.
    await store.deleteFile(filler);
    await store.commit([{ op: 'put', record: sampleJob('after-full') }]);
    const reader = await openJobStore(locator);
    for (const id of [...acknowledged, 'after-full'])
      expect((await reader.loadJob(id)).id).toBe(id);
    let listed = 0;
    for await (const _ of reader.listJobs()) listed++;
    expect(listed).toBe(acknowledged.length + 1);
    await store.close();
    await reader.close();
  },
);
