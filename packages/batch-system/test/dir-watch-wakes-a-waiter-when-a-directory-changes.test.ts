import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirWatch } from '@toil/batch-system';

describe('DirWatch', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dir-watch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('wakes a waiter when a file is created, renamed or removed in a watched directory', async () => {
    const watch = new DirWatch([dir]);
    try {
      const created = watch.wait(60_000);
      writeFileSync(join(dir, 'a.tmp'), '{}');
      expect(await created).toBe(true);
      const renamed = watch.wait(60_000);
      renameSync(join(dir, 'a.tmp'), join(dir, 'a'));
      expect(await renamed).toBe(true);
      const removed = watch.wait(60_000);
      rmSync(join(dir, 'a'));
      expect(await removed).toBe(true);
    } finally {
      watch.close();
    }
  });

  it('returns at once for a change that came before the wait, and false when nothing changed', async () => {
    const watch = new DirWatch();
    watch.add(dir);
    try {
      writeFileSync(join(dir, 'early'), '');
      // Let the notification arrive before anyone waits.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await watch.wait(60_000)).toBe(true);
      expect(await watch.wait(20)).toBe(false);
    } finally {
      watch.close();
    }
  });

  it('returns false when its signal aborts, and polls a directory it cannot watch', async () => {
    const watch = new DirWatch([join(dir, 'missing')]);
    const abort = new AbortController();
    const waiting = watch.wait(60_000, abort.signal);
    abort.abort();
    expect(await waiting).toBe(false);
    expect(await watch.wait(10)).toBe(false);
    watch.close();
  });
});
