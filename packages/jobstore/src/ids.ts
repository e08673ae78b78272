import { ToilError } from '@toil/core';
import type { FileId, SharedFileName, WriteFileOptions } from './contract.js';

const JOB_ID = /^[A-Za-z0-9._-]{1,200}$/;
const BASENAME = /^[A-Za-z0-9._+=@,-]{1,200}$/;
const FILE_ID =
  /^files\/(?:no-job|for-job\/([A-Za-z0-9._-]{1,200})(?:\/cleanup)?)\/[0-9a-f]{32}\/([A-Za-z0-9._+=@,-]{1,200})$/;
const SHARED_NAMES = new Set([
  'config',
  'root-job-id',
  'root-return-value',
  'leader',
  'kill-flag',
  'outcome',
  'summary',
  'workflow-code',
]);

/**
 * A fresh job id: the job name made safe for paths and keys (Toil's `kind-` rule: runs of
 * `[A-Za-z0-9._-]` joined with `_`, `UNPRINTABLE` when none, at most 80 characters) plus 12
 * random hex digits. No I/O.
 */
export function newJobId(jobName: string): string {
  const safe = (jobName.match(/[A-Za-z0-9._-]+/g) ?? []).join('_').replace(/^[.]+/, '');
  // randomUUID draws from a cached pool (randomBytes is a system call per id); the first 12
  // hex digits of a v4 UUID are all random.
  const uuid = randomUUID();
  return `${(safe || 'UNPRINTABLE').slice(0, 80)}-${uuid.slice(0, 8)}${uuid.slice(9, 13)}`;
}

/** Throws `INVALID_ARGUMENT` unless `id` is a well-formed job id (no path separators). */
export function checkJobId(id: string): void {
  if (typeof id !== 'string' || !JOB_ID.test(id) || id === '.' || id === '..')
    throw new ToilError('INVALID_ARGUMENT', `'${String(id)}' is not a valid job id.`, {
      hint: 'Use an id returned by newJobId().',
    });
}

/** Makes a basename safe for paths and keys (unsafe characters become `_`). */
export function safeBasename(name: string | undefined): string {
  const cleaned = (name ?? 'stream').replace(/[^A-Za-z0-9._+=@,-]/g, '_').slice(-200);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'stream' : cleaned;
}

/**
 * A new file id, a relative path shaped like Toil's: `files/no-job/<hex>/<basename>`,
 * `files/for-job/<job>/<hex>/<basename>` or `files/for-job/<job>/cleanup/<hex>/<basename>`.
 */
export function newFileId(options: WriteFileOptions = {}, fallbackBasename?: string): FileId {
  if (options.cleanup && !options.jobId)
    throw new ToilError('INVALID_ARGUMENT', 'A file with cleanup needs a jobId.', {
      hint: 'Pass jobId together with cleanup: true.',
    });
  const base = safeBasename(options.basename ?? fallbackBasename);
  const hex = randomUUID().replace(/-/g, '');
  if (!options.jobId) return `files/no-job/${hex}/${base}`;
  checkJobId(options.jobId);
  return `files/for-job/${options.jobId}/${options.cleanup ? 'cleanup/' : ''}${hex}/${base}`;
}

/** Throws `FILE_NOT_FOUND` unless `id` has the shape of a file id (so it cannot escape the store). */
export function checkFileId(id: FileId): void {
  if (typeof id !== 'string' || !FILE_ID.test(id))
    throw new ToilError('FILE_NOT_FOUND', `File '${String(id)}' does not exist (not a file id).`, {
      hint: 'Use an id returned by writeFile()/writeFileFromStream().',
      data: { fileId: id },
    });
}

/** The prefix (relative path) of the files deleted together with a job. */
export function cleanupPrefix(jobId: string): string {
  return `files/for-job/${jobId}/cleanup/`;
}

/** Throws `INVALID_ARGUMENT` for a shared file name outside {@link SharedFileName}. */
export function checkSharedName(name: SharedFileName): void {
  if (SHARED_NAMES.has(name)) return;
  if (typeof name === 'string' && /^user-[A-Za-z0-9._-]{1,200}$/.test(name)) return;
  throw new ToilError('INVALID_ARGUMENT', `'${String(name)}' is not a shared file name.`, {
    hint: `Use one of ${[...SHARED_NAMES].join(', ')} or user-NAME (letters, digits, . _ -).`,
  });
}

export { BASENAME as BASENAME_PATTERN };

/** node:crypto's randomUUID, loaded on first use (a worker that creates no job needs none). */
function randomUUID(): string {
  return process.getBuiltinModule('node:crypto').randomUUID();
}
