import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Directory and file modes of a file store: only the owner may read job data. */
export const DIR_MODE = 0o700;
/** See {@link DIR_MODE}. */
export const FILE_MODE = 0o600;

/** fsyncs a directory so that entries created or renamed in it survive a machine crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `digits` random hex digits, to tell apart names several writers make at once (not a secret:
 * Math.random, so that a store's writes load no node:crypto).
 */
export function randomHex(digits: number): string {
  let out = '';
  while (out.length < digits) {
    out += Math.floor(Math.random() * 2 ** 24)
      .toString(16)
      .padStart(6, '0');
  }
  return out.slice(0, digits);
}

/** A temp path in the same directory as `target` (so a rename onto it is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomHex(12)}.tmp`);
}

/**
 * Writes `data` to `target` atomically and durably: temp file in the same directory, fsync,
 * rename over the target, fsync the directory. A reader sees the old or the new content.
 */
export async function atomicWriteFile(target: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(target);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', FILE_MODE);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await fsyncDir(dirname(target));
}

/** True for a Node system error with one of these codes. */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    codes.includes((error as NodeJS.ErrnoException).code ?? '')
  );
}
