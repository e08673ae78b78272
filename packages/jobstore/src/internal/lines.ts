import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { corruptError } from '../errors.js';

/** One complete (newline-terminated) line of a log file. */
export interface LogLine {
  /** Byte offset of the line's first byte. */
  pos: number;
  /** Byte offset just past the newline. */
  end: number;
  text: string;
}

const CHUNK = 4 * 1024 * 1024;

/**
 * Reads the complete lines of a log file from byte `start` (a line start) to the end of the
 * file as it is now, in chunks. A last line without its newline is a write in progress (or
 * one a crash interrupted before it was acknowledged) and is not returned — unless the file
 * is `finished` (its writer closed it, or it is a snapshot): then nothing can be in progress,
 * and a last line without its newline is a truncated record, `JOBSTORE_CORRUPT` naming
 * `finished.where`.
 */
export async function* readLogLines(
  file: string | FileHandle,
  start = 0,
  finished?: { where: string },
): AsyncGenerator<LogLine[]> {
  // A handle opened earlier stays readable even if a compaction has unlinked the file since.
  const handle = typeof file === 'string' ? await open(file, 'r') : file;
  try {
    const size = (await handle.stat()).size;
    let position = start;
    let carry: Buffer = Buffer.alloc(0);
    while (position < size) {
      const want = Math.min(CHUNK, size - position);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(chunk, 0, want, position);
      if (bytesRead === 0) break;
      const buffer =
        carry.length > 0
          ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
      const bufferStart = position - carry.length;
      position += bytesRead;
      const { lines, rest } = splitLines(buffer, bufferStart);
      carry = Buffer.from(rest);
      if (lines.length > 0) yield lines;
    }
    if (finished && carry.length > 0) throw truncated(finished.where, carry.length, position);
  } finally {
    if (typeof file === 'string') await handle.close();
  }
}

/** A finished log whose last `bytes` bytes, up to byte `end`, have no newline: a truncated record. */
function truncated(where: string, bytes: number, end: number): ReturnType<typeof corruptError> {
  return corruptError(
    where,
    `its last record (${bytes} bytes at offset ${end - bytes}) is truncated`,
  );
}

/** The complete lines of `buffer` (which starts at byte `bufferStart`), and what follows them. */
function splitLines(buffer: Buffer, bufferStart: number): { lines: LogLine[]; rest: Buffer } {
  const lines: LogLine[] = [];
  let lineStart = 0;
  for (;;) {
    const newline = buffer.indexOf(10, lineStart);
    if (newline < 0) break;
    lines.push({
      pos: bufferStart + lineStart,
      end: bufferStart + newline + 1,
      text: buffer.toString('utf8', lineStart, newline),
    });
    lineStart = newline + 1;
  }
  return { lines, rest: buffer.subarray(lineStart) };
}

/** Largest file {@link readSmallLogLines} reads. */
export const SMALL_LOG_BYTES = 256 * 1024;

/**
 * {@link readLogLines} for a small file, with synchronous reads: a few microseconds each where
 * the promise API costs a thread-pool round trip per call (open, stat, read), which made
 * reading a store of many small logs (each worker process writes one) several milliseconds of
 * CPU per job. Undefined when the file has more than {@link SMALL_LOG_BYTES} after `start`
 * (read those with {@link readLogLines}, which does not block the event loop for long).
 */
export function readSmallLogLines(
  path: string,
  start = 0,
  finished?: { where: string },
): LogLine[] | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size - start > SMALL_LOG_BYTES) return undefined;
    const buffer = Buffer.allocUnsafe(Math.max(0, size - start));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    const { lines, rest } = splitLines(buffer.subarray(0, read), start);
    if (finished && rest.length > 0) throw truncated(finished.where, rest.length, start + read);
    return lines;
  } finally {
    closeSync(fd);
  }
}
