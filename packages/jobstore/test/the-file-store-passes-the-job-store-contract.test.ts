import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJobStore } from '@toil/jobstore';
import { describeJobStoreContract } from '@toil/jobstore/testing';

const root = mkdtempSync(join(tmpdir(), 'toil-file-contract-'));
let counter = 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

describeJobStoreContract('file:', {
  newLocator: () => `file:${join(root, `store-${++counter}`)}`,
  open: (locator) => openJobStore(locator),
  async overwriteJobRecord(locator, jobId, content) {
    const dir = join(locator.slice('file:'.length), 'jobs');
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const lines = readFileSync(path, 'utf8').split('\n');
      const index = lines.findLastIndex((line) => line.includes(`"id":"${jobId}"`));
      if (index < 0) continue;
      // The damaged line keeps its newline: it is a finished record, not a write in progress.
      // Truncated text replaces the whole entry; a complete JSON value replaces the record.
      lines[index] = content.endsWith('}')
        ? `{"s":${Number.MAX_SAFE_INTEGER},"id":"${jobId}","r":${content}}`
        : content;
      writeFileSync(path, lines.join('\n'));
      return path;
    }
    throw new Error(`no log line for ${jobId}`);
  },
  async halfCreate(locator) {
    mkdirSync(join(locator.slice('file:'.length), 'jobs'), { recursive: true, mode: 0o700 });
  },
});
