import { createWriteStream, readlinkSync, statSync } from 'node:fs';
import {
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isProcessAlive, localNodeId, report, silentHost, type IoHost } from '@toil/core';
import type {
  CommitOptions,
  DestroyReport,
  FileId,
  JobStore,
  FileJobStoreLocator,
  JobStoreLocator,
  JobWrite,
  SharedFileName,
} from './contract.js';
import {
  corruptError,
  existsError,
  fileNotFoundError,
  notAJobStoreError,
  notFoundError,
  wrapIo,
} from './errors.js';
import { checkFileId, checkJobId, cleanupPrefix } from './ids.js';
import { AppendLog } from './internal/append-log.js';
import {
  DIR_MODE,
  FILE_MODE,
  atomicWriteFile,
  fsyncDir,
  isErrno,
  randomHex,
  tempPathFor,
} from './internal/fs.js';
import { readLogLines, readSmallLogLines, type LogLine } from './internal/lines.js';
import { nextSeq, observeSeq } from './internal/seq.js';
import { JobStoreBase } from './base-store.js';
import {
  JOBSTORE_FORMAT_VERSION,
  type JobRecord,
  type StatsRecord,
  type WorkflowConfig,
} from './records.js';
import { parseJson, recordSchemas, validateRecord, type RecordSchemas } from './validate.js';
import { isPlainJobRecord, isPlainStatsRecord } from './record-checks.js';
import { toLocatorOfKind } from './locator.js';

/** Options of {@link FileJobStore}. */
export interface FileJobStoreOptions {
  /** Where warnings (a failed log compaction) and destroy progress go. */
  host?: IoHost;
  /**
   * Compact the job logs once this many finished logs (of closed store instances, e.g.
   * worker processes) have accumulated. Default 32.
   */
  compactAfter?: number;
}

/**
 * A short tag of this machine and pid namespace in log names, so that a dead writer's log can
 * be recognised (a pid is only meaningful within both: containers share a boot id). FNV-1a,
 * not a cryptographic hash: node:crypto would be most of what a one-shot worker's store loads.
 */
let nodeTag: string | undefined;

function thisNodeTag(): string {
  if (nodeTag === undefined) {
    let hash = 0x811c9dc5;
    for (const byte of Buffer.from(nodeIdentity())) {
      hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    }
    nodeTag = hash.toString(16).padStart(8, '0');
  }
  return nodeTag;
}

/** The tag versions before FNV-1a wrote (SHA-256), for the logs and locks they left. */
let legacyNodeTag: string | undefined;

function isThisNode(tag: string): boolean {
  if (tag === thisNodeTag()) return true;
  legacyNodeTag ??= process
    .getBuiltinModule('node:crypto')
    .createHash('sha256')
    .update(nodeIdentity())
    .digest('hex')
    .slice(0, 8);
  return tag === legacyNodeTag;
}

/** What the node tag hashes: this machine and its pid namespace. */
function nodeIdentity(): string {
  return `${localNodeId()} ${pidNamespace()}`;
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}

/** True when a log's writer (`<time>-<node>-<pid>-<rand>`) ran on this machine and is gone. */
function writerIsDead(writerId: string): boolean {
  const [, node, pid] = writerId.split('-');
  return (
    node !== undefined && isThisNode(node) && pid !== undefined && !isProcessAlive(Number(pid))
  );
}

/** Takes an exclusive lock file; takes over one whose holder died on this machine. */
async function takeLock(path: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', FILE_MODE);
      await handle.writeFile(`${thisNodeTag()}-${process.pid}`);
      await handle.close();
      return true;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
      const holder = await readFile(path, 'utf8').catch(() => '');
      if (!writerIsDead(`x-${holder}`)) return false;
      await rm(path, { force: true });
    }
  }
  return false;
}

/** Name of the marker file a complete file store has at its root. */
export const FILE_STORE_MARKER = 'jobstore.json';
const TOP_LEVEL = new Set([FILE_STORE_MARKER, 'shared', 'jobs', 'stats', 'files']);
const READ_CURSOR = 'read-cursor.json';

/** Entries of a directory that no job store (complete or half-created) holds. */
function foreignEntries(entries: string[]): string[] {
  return entries.filter((e) => !TOP_LEVEL.has(e) && !e.startsWith(`.${FILE_STORE_MARKER}.`));
}
/** Read handles a store instance keeps open at most. */
const MAX_CACHED_HANDLES = 128;
/** Read-cursor value of a finished stats log read to its end (never opened again). */
const FULLY_READ = -1;
const CURSOR_SAVE_EVERY = 1000;

interface IndexEntry {
  seq: number;
  file: string;
  pos: number;
  end: number;
  deleted: boolean;
}

interface LogLineEntry {
  s: number;
  id: string;
  r?: unknown;
  d?: true;
}

function newer(a: IndexEntry, b: IndexEntry): boolean {
  if (a.seq !== b.seq) return a.seq > b.seq;
  if (a.file !== b.file) return a.file > b.file;
  return a.pos > b.pos;
}

async function* fromStream(
  source: Readable | AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  for await (const chunk of source as AsyncIterable<Uint8Array | string>)
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/**
 * The `file:` job store: a directory on a local or shared file system. See the package README
 * for the on-disk layout and the durability guarantees.
 *
 * Job records and stats records live in append-only logs, one per writing store instance
 * (`jobs/<writer>.log`, `stats/<writer>.log`), written with group commit: concurrent commits
 * share one fdatasync. A reader replays every log, keeping per job the entry with the highest
 * sequence number (a hybrid logical clock), so it never sees a torn record and never writes.
 */
export class FileJobStore extends JobStoreBase implements JobStore {
  readonly kind = 'file' as const;
  /** Absolute path of the store directory. */
  readonly path: string;
  private readonly writerId = `${Date.now().toString(36)}-${thisNodeTag()}-${process.pid}-${randomHex(8)}`;
  private jobLog: AppendLog | undefined;
  private statsLog: AppendLog | undefined;
  private readonly index = new Map<string, IndexEntry>();
  private readonly logOffsets = new Map<
    string,
    { offset: number; lines: number; complete: boolean; firstSeq: number }
  >();
  /** Finished logs seen by the last refresh: compaction candidates. */
  private closedLogs: string[] = [];
  /** Open read handles by job log / snapshot name; see readHandle(). */
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private readonly compactAfter: number;
  /** Bumped by close(): an instance used again after close() writes new logs. */
  private generation = 0;
  /** `files/for-job` was seen to exist (it is removed only with the store). */
  private forJobSeen = false;

  constructor(locator: string | JobStoreLocator, options: FileJobStoreOptions = {}) {
    const parsed = toLocatorOfKind<FileJobStoreLocator>(locator, 'file', 'FileJobStore');
    super(parsed.locator, options.host ?? silentHost);
    this.compactAfter = Math.max(1, options.compactAfter ?? 32);
    this.path = parsed.path;
  }

  // --- lifecycle ---------------------------------------------------------------------------

  protected async createStore(config: WorkflowConfig): Promise<void> {
    await this.forgetState();
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: DIR_MODE });
      try {
        await mkdir(this.path, { mode: DIR_MODE });
      } catch (error) {
        if (isErrno(error, 'EEXIST')) {
          const reason = await this.notAStoreReason();
          throw reason ? notAJobStoreError(this.path, reason) : existsError(this.locator);
        }
        throw error;
      }
      for (const dir of ['shared', 'jobs', 'stats', 'files'])
        await mkdir(join(this.path, dir), { mode: DIR_MODE });
      await atomicWriteFile(join(this.path, 'shared', 'config'), JSON.stringify(config));
      // The marker goes last: a store without it is half-created (resume refuses it).
      await atomicWriteFile(
        join(this.path, FILE_STORE_MARKER),
        JSON.stringify({
          format: JOBSTORE_FORMAT_VERSION,
          kind: 'file',
          createdAt: Date.now() / 1000,
        }),
      );
      await fsyncDir(this.path);
      await fsyncDir(dirname(this.path));
    } catch (error) {
      throw wrapIo(`creating ${this.locator}`, error);
    }
  }

  async exists(): Promise<boolean> {
    try {
      await stat(this.path);
      return true;
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return false;
      throw wrapIo(`checking ${this.locator}`, error);
    }
  }

  async destroy(host: IoHost = this.host): Promise<DestroyReport> {
    const target = `directory ${this.path}`;
    let entries: string[];
    try {
      entries = await readdir(this.path);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { existed: false, deleted: 0, target };
      if (isErrno(error, 'ENOTDIR'))
        throw notAJobStoreError(this.path, 'it is a file; not deleting it');
      throw wrapIo(`reading ${this.path}`, error);
    }
    const foreign = foreignEntries(entries);
    if (foreign.length > 0)
      throw notAJobStoreError(
        this.path,
        `it holds ${foreign.slice(0, 3).join(', ')}; not deleting it`,
      );
    await this.forgetState();
    const span = this.startDestroySpan(host);
    let deleted: number;
    try {
      const files = (await readdir(this.path, { recursive: true, withFileTypes: true })).filter(
        (d) => !d.isDirectory(),
      );
      span.progress(0, `Deleting ${files.length} files`, { total: files.length });
      await rm(this.path, { recursive: true, force: true, maxRetries: 3 });
      deleted = files.length;
      await fsyncDir(dirname(this.path)).catch(() => undefined);
    } catch (error) {
      span.end(`Failed to delete ${this.locator}`, { ok: false });
      throw wrapIo(`deleting ${this.locator}`, error);
    }
    span.end(`Deleted job store ${this.locator} (${deleted} files)`, { data: { deleted } });
    return { existed: true, deleted, target };
  }

  /** This instance's log in `dir`: `current`, or a new one when there is none or it broke. */
  private writableLog(current: AppendLog | undefined, dir: 'jobs' | 'stats'): AppendLog {
    if (current && !current.broken) return current;
    // A write failed and could not be cut off: continue in a new log.
    if (current) this.generation += 1;
    return new AppendLog(join(this.path, dir, `${this.writerId}.${this.generation}.log`));
  }

  /** Closes this instance's logs and drops its index (the store is being deleted or remade). */
  private async forgetState(): Promise<void> {
    await this.jobLog?.close();
    await this.statsLog?.close();
    this.jobLog = undefined;
    this.statsLog = undefined;
    this.index.clear();
    this.logOffsets.clear();
    this.forJobSeen = false;
    await this.dropHandles();
  }

  /**
   * Why the path is not a job store (a file, or a directory holding what a store never
   * holds), or undefined when it is one, a half-created one or nothing.
   */
  private async notAStoreReason(): Promise<string | undefined> {
    let entries: string[];
    try {
      entries = await readdir(this.path);
    } catch (error) {
      if (isErrno(error, 'ENOTDIR')) return 'it is a file';
      return undefined;
    }
    const foreign = foreignEntries(entries);
    return foreign.length > 0 ? `it holds ${foreign.slice(0, 3).join(', ')}` : undefined;
  }

  protected override async explainMissingMarker(): Promise<void> {
    const reason = await this.notAStoreReason();
    if (reason) throw notAJobStoreError(this.path, reason);
  }

  protected async readMarker(): Promise<string | undefined> {
    try {
      return await readFile(this.markerWhere(), 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw wrapIo(`opening ${this.locator}`, error);
    }
  }

  protected markerWhere(): string {
    return join(this.path, FILE_STORE_MARKER);
  }

  // --- jobs --------------------------------------------------------------------------------

  protected async writeJobs(writes: readonly JobWrite[], options?: CommitOptions): Promise<void> {
    const lines = writes.map((write) => {
      const seq = nextSeq();
      return write.op === 'put'
        ? {
            id: write.record.id,
            seq,
            deleted: false,
            text: `${JSON.stringify({ s: seq, id: write.record.id, r: write.record })}\n`,
          }
        : {
            id: write.id,
            seq,
            deleted: true,
            text: `${JSON.stringify({ s: seq, id: write.id, d: true })}\n`,
          };
    });
    this.jobLog = this.writableLog(this.jobLog, 'jobs');
    const file = basename(this.jobLog.path);
    let range: { pos: number; end: number };
    try {
      range = await this.jobLog.append(
        lines.map((l) => l.text).join(''),
        options?.durability !== 'written',
      );
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw notFoundError(this.locator);
      throw wrapIo(`writing jobs to ${this.locator}`, error);
    }
    let pos = range.pos;
    for (const line of lines) {
      const end = pos + Buffer.byteLength(line.text, 'utf8');
      const entry: IndexEntry = { seq: line.seq, file, pos, end, deleted: line.deleted };
      const current = this.index.get(line.id);
      if (!current || newer(entry, current)) this.index.set(line.id, entry);
      pos = end;
    }
    const deletedIds = lines.filter((l) => l.deleted).map((l) => l.id);
    if (deletedIds.length > 0) await this.removeCleanupFiles(deletedIds);
    if (this.closedLogs.length >= this.compactAfter) {
      this.closedLogs = [];
      // The commit is already stored; a failed compaction only costs read speed.
      await this.compact().catch((error: unknown) =>
        report(
          this.host,
          'warning',
          'JOBSTORE_COMPACT_FAILED',
          `Could not compact the job logs of ${this.locator}: ${error instanceof Error ? error.message : String(error)}`,
          undefined,
          'toil.jobstore',
        ),
      );
    }
  }

  private async removeCleanupFiles(jobIds: string[]): Promise<void> {
    const forJob = join(this.path, 'files', 'for-job');
    let owners: Set<string>;
    try {
      // Until some job stored a file of its own the directory does not exist: one stat per
      // commit then, not a failed listing (a large fan-out's leader deletes in thousands of
      // commits). A job's files are stored before its record can be deleted: none is missed.
      if (!this.forJobSeen) {
        if (statSync(forJob, { throwIfNoEntry: false }) === undefined) return;
        this.forJobSeen = true;
      }
      owners = new Set(await readdir(forJob));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw wrapIo('listing job files', error);
    }
    for (const id of jobIds) {
      if (!owners.has(id)) continue;
      try {
        await rm(join(this.path, cleanupPrefix(id)), { recursive: true, force: true });
      } catch (error) {
        throw wrapIo(`deleting the files of job ${id}`, error);
      }
    }
  }

  /**
   * Brings the index up to date: reads what each job log and snapshot gained since the last
   * refresh. A file that vanished was merged by a compaction: the index is then rebuilt from
   * scratch (the snapshot holds what the file held). Never writes.
   */
  private async refresh(full = false): Promise<void> {
    const jobsDir = join(this.path, 'jobs');
    let names: string[];
    try {
      names = await readdir(jobsDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) throw notFoundError(this.locator);
      throw wrapIo(`listing jobs of ${this.locator}`, error);
    }
    const present = new Set(names);
    if (!full && [...this.logOffsets.keys()].some((name) => !present.has(name))) full = true;
    if (full) {
      this.index.clear();
      this.logOffsets.clear();
      await this.dropHandles();
    }
    const own = this.jobLog ? basename(this.jobLog.path) : undefined;
    const closed: string[] = [];
    for (const name of names) {
      const isLog = name.endsWith('.log');
      if (!isLog && !name.endsWith('.snap')) continue;
      // Our own log is indexed as we append (except when rebuilding from scratch).
      if (name === own && !full) continue;
      const finished = !isLog || present.has(`${name.slice(0, -4)}.done`);
      if (finished && isLog && name !== own) closed.push(name);
      const state = this.logOffsets.get(name) ?? {
        offset: 0,
        lines: 0,
        complete: false,
        firstSeq: 0,
      };
      if (state.complete) continue;
      const path = join(jobsDir, name);
      const add = (chunk: LogLine[]): void => {
        for (const line of chunk) {
          state.lines += 1;
          const parsed = parseLogLine(line.text, `${path}:${state.lines}`);
          observeSeq(parsed.s);
          if (state.firstSeq === 0) state.firstSeq = parsed.s;
          const entry: IndexEntry = {
            seq: parsed.s,
            file: name,
            pos: line.pos,
            end: line.end,
            deleted: parsed.d === true,
          };
          const current = this.index.get(parsed.id);
          if (!current || newer(entry, current)) this.index.set(parsed.id, entry);
          state.offset = line.end;
        }
      };
      const where = finished ? { where: path } : undefined;
      try {
        // Most files are other processes' small logs: read at once, without keeping a handle.
        const small = this.handles.has(name)
          ? undefined
          : readSmallLogLines(path, state.offset, where);
        if (small) add(small);
        else {
          await this.withReadHandle(name, async (handle) => {
            for await (const chunk of readLogLines(handle, state.offset, where)) add(chunk);
          });
        }
        // A finished log or a snapshot never changes again: skip it from now on.
        state.complete = finished;
      } catch (error) {
        if (isErrno(error, 'ENOENT')) {
          // Merged away while we listed: start over, once, from what is there now.
          if (!full) return this.refresh(true);
          continue;
        }
        throw wrapIo(`reading ${path}`, error);
      } finally {
        if (present.has(name)) this.logOffsets.set(name, state);
      }
    }
    this.closedLogs = closed;
  }

  /** Runs `read` against the index; if a file it points at was merged away, rebuilds and retries. */
  private async withIndex<T>(read: () => Promise<T>): Promise<T> {
    await this.refresh();
    for (let attempt = 0; ; attempt++) {
      try {
        return await read();
      } catch (error) {
        if (!isErrno(error, 'ENOENT') || attempt >= 3) throw error;
        await this.refresh(true);
      }
    }
  }

  /**
   * Runs `use` with a read handle on a job log or snapshot. Handles are kept open for later
   * reads (at most {@link MAX_CACHED_HANDLES}; beyond that a handle is closed after its use).
   * Log lines never change once written, so a handle on a file that a compaction has since
   * unlinked still reads the right bytes.
   */
  private async withReadHandle<T>(
    name: string,
    use: (handle: FileHandle) => Promise<T>,
  ): Promise<T> {
    const cached = this.handles.get(name);
    if (cached) return use(await cached);
    const opening = open(join(this.path, 'jobs', name), 'r');
    if (this.handles.size < MAX_CACHED_HANDLES) {
      this.handles.set(name, opening);
      opening.catch(() => this.handles.delete(name));
      return use(await opening);
    }
    const handle = await opening;
    try {
      return await use(handle);
    } finally {
      await handle.close();
    }
  }

  private async dropHandles(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.then((fh) => fh.close()).catch(() => undefined)));
  }

  private async readEntry(id: string, entry: IndexEntry): Promise<JobRecord> {
    const path = join(this.path, 'jobs', entry.file);
    const buffer = Buffer.allocUnsafe(entry.end - entry.pos);
    await this.withReadHandle(entry.file, (handle) =>
      handle.read(buffer, 0, buffer.length, entry.pos),
    );
    const text = buffer.toString('utf8', 0, buffer.length - 1);
    const where = `${path}@${entry.pos}`;
    // zod only for a record the hand check does not pass (its error names the problem).
    const plain = plainRecordOfLine(text, where, id);
    if (plain) return plain;
    return recordOfLine((await recordSchemas()).JobRecordSchema, text, where, id);
  }

  /**
   * Merges finished logs and older snapshots into one new snapshot, then deletes them, so that
   * readers replay less and the jobs directory stays small. Runs under `jobs/compact.lock`; a
   * lock left by a dead process on this machine is taken over. Safe against concurrent
   * readers (they rebuild their index when a file vanishes) and writers (active logs are
   * never touched).
   */
  private async compact(): Promise<void> {
    const jobsDir = join(this.path, 'jobs');
    const lockPath = join(jobsDir, 'compact.lock');
    if (!(await takeLock(lockPath))) return;
    try {
      // Which logs are final is settled before the index is read: a log whose writer closes it
      // (or dies) after that read may end in lines the index lacks, and merging it would
      // delete them (a job's recorded completion lost, so the job ran again).
      const names = await readdir(jobsDir);
      const present = new Set(names);
      const own = this.jobLog ? basename(this.jobLog.path) : undefined;
      const final = new Set(
        names.filter(
          (name) =>
            name.endsWith('.snap') ||
            (name.endsWith('.log') &&
              name !== own &&
              (present.has(`${name.slice(0, -4)}.done`) || writerIsDead(name.slice(0, -4)))),
        ),
      );
      await this.refresh(true);
      const merged = new Set<string>();
      let oldestActive = Number.POSITIVE_INFINITY;
      for (const [name, state] of this.logOffsets) {
        if (final.has(name)) merged.add(name);
        else oldestActive = Math.min(oldestActive, state.firstSeq || Number.POSITIVE_INFINITY);
      }
      if ([...merged].filter((n) => n.endsWith('.log')).length === 0) return;
      // Keep, per job, the newest entry when it lives in a merged file. A deletion is kept
      // only while an active log may still hold an older entry of the same job.
      const keep = new Map<string, Map<number, string>>();
      let maxSeq = 0;
      for (const [id, entry] of this.index) {
        if (!merged.has(entry.file)) continue;
        if (entry.deleted && entry.seq < oldestActive) continue;
        maxSeq = Math.max(maxSeq, entry.seq);
        let positions = keep.get(entry.file);
        if (!positions) keep.set(entry.file, (positions = new Map()));
        positions.set(entry.pos, id);
      }
      const target = join(jobsDir, `${String(maxSeq).padStart(17, '0')}-${this.writerId}.snap`);
      const temp = `${target}.tmp`;
      const out = createWriteStream(temp, { flags: 'wx', mode: FILE_MODE });
      await pipeline(
        (async function* (dir: string) {
          for (const [file, positions] of keep) {
            for await (const chunk of readLogLines(join(dir, file), 0)) {
              const lines = chunk.filter((line) => positions.has(line.pos));
              if (lines.length > 0) yield lines.map((line) => `${line.text}\n`).join('');
            }
          }
        })(jobsDir),
        out,
      );
      const handle = await open(temp, 'r');
      await handle.sync();
      await handle.close();
      await rename(temp, target);
      await fsyncDir(jobsDir);
      for (const name of merged) {
        if (name === basename(target)) continue;
        await rm(join(jobsDir, name), { force: true });
        if (name.endsWith('.log'))
          await rm(join(jobsDir, `${name.slice(0, -4)}.done`), { force: true });
      }
      await fsyncDir(jobsDir);
    } finally {
      await rm(lockPath, { force: true });
      await this.refresh(true);
    }
  }

  async tryLoadJob(id: string): Promise<JobRecord | undefined> {
    checkJobId(id);
    try {
      return await this.withIndex(async () => {
        const entry = this.index.get(id);
        if (!entry || entry.deleted) return undefined;
        return this.readEntry(id, entry);
      });
    } catch (error) {
      throw wrapIo(`reading job ${id}`, error);
    }
  }

  async jobExists(id: string): Promise<boolean> {
    checkJobId(id);
    await this.refresh();
    const entry = this.index.get(id);
    return entry !== undefined && !entry.deleted;
  }

  async *listJobIds(): AsyncIterable<string> {
    await this.refresh();
    for (const [id, entry] of this.index) if (!entry.deleted) yield id;
  }

  async *listJobs(): AsyncIterable<JobRecord> {
    const { JobRecordSchema } = await recordSchemas();
    // Open every file first: an open handle survives a compaction that unlinks the file.
    const { handles, byFile } = await this.withIndex(async () => {
      const byFile = new Map<string, Map<number, string>>();
      for (const [id, entry] of this.index) {
        if (entry.deleted) continue;
        let positions = byFile.get(entry.file);
        if (!positions) byFile.set(entry.file, (positions = new Map()));
        positions.set(entry.pos, id);
      }
      const handles = new Map<string, FileHandle>();
      try {
        for (const file of byFile.keys())
          handles.set(file, await open(join(this.path, 'jobs', file), 'r'));
      } catch (error) {
        await Promise.all([...handles.values()].map((h) => h.close()));
        throw error;
      }
      return { handles, byFile };
    });
    try {
      for (const [file, positions] of byFile) {
        let start = Number.POSITIVE_INFINITY;
        for (const pos of positions.keys()) start = Math.min(start, pos);
        let remaining = positions.size;
        const path = join(this.path, 'jobs', file);
        for await (const chunk of readLogLines(handles.get(file)!, start)) {
          for (const line of chunk) {
            const id = positions.get(line.pos);
            if (id === undefined) continue;
            yield recordOfLine(JobRecordSchema, line.text, `${path}@${line.pos}`, id);
            remaining -= 1;
          }
          if (remaining === 0) break;
        }
      }
    } finally {
      await Promise.all([...handles.values()].map((h) => h.close()));
    }
  }

  // --- files -------------------------------------------------------------------------------

  private filePath(id: FileId): string {
    checkFileId(id);
    return join(this.path, ...id.split('/'));
  }

  protected async storeFile(
    id: FileId,
    source: Readable | AsyncIterable<Uint8Array>,
    isNew: boolean,
  ): Promise<void> {
    const target = this.filePath(id);
    const dir = dirname(target);
    const temp = tempPathFor(target);
    let handle: FileHandle | undefined;
    try {
      if (isNew) {
        await this.checkComplete();
        await mkdir(dir, { recursive: true, mode: DIR_MODE });
      }
      await pipeline(fromStream(source), createWriteStream(temp, { flags: 'wx', mode: FILE_MODE }));
      // fsync works on the inode, so a second descriptor makes the stream's writes durable.
      handle = await open(temp, 'r');
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, target);
      await fsyncDir(dir);
      if (isNew) await fsyncDir(dirname(dir));
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await rm(temp, { force: true }).catch(() => undefined);
      if (!isNew && isErrno(error, 'ENOENT')) throw fileNotFoundError(id);
      throw wrapIo(`writing file ${id}`, error);
    }
  }

  async readFile(id: FileId, localPath: string): Promise<void> {
    const path = this.filePath(id);
    try {
      await copyFile(path, localPath);
    } catch (error) {
      if (isErrno(error, 'ENOENT') && !(await this.fileExists(id))) throw fileNotFoundError(id);
      throw wrapIo(`copying file ${id} to ${localPath}`, error);
    }
  }

  async readFileStream(id: FileId): Promise<Readable> {
    const path = this.filePath(id);
    try {
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) throw fileNotFoundError(id);
      throw wrapIo(`reading file ${id}`, error);
    }
  }

  async deleteFile(id: FileId): Promise<void> {
    const path = this.filePath(id);
    try {
      await rm(dirname(path), { recursive: true, force: true });
    } catch (error) {
      throw wrapIo(`deleting file ${id}`, error);
    }
  }

  async fileExists(id: FileId): Promise<boolean> {
    try {
      return (await stat(this.filePath(id))).isFile();
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return false;
      throw wrapIo(`checking file ${id}`, error);
    }
  }

  async fileSize(id: FileId): Promise<number> {
    try {
      return (await stat(this.filePath(id))).size;
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) throw fileNotFoundError(id);
      throw wrapIo(`checking file ${id}`, error);
    }
  }

  // --- shared files ------------------------------------------------------------------------

  protected async writeShared(name: SharedFileName, data: string | Uint8Array): Promise<void> {
    try {
      await atomicWriteFile(this.sharedWhere(name), data);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw notFoundError(this.locator);
      throw wrapIo(`writing shared file ${name}`, error);
    }
  }

  protected async readShared(name: SharedFileName): Promise<Buffer | undefined> {
    try {
      return await readFile(this.sharedWhere(name));
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) {
        if (!(await this.exists())) throw notFoundError(this.locator);
        return undefined;
      }
      throw wrapIo(`reading shared file ${name}`, error);
    }
  }

  protected async removeShared(name: SharedFileName): Promise<void> {
    try {
      await rm(this.sharedWhere(name), { force: true });
      await fsyncDir(join(this.path, 'shared'));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw wrapIo(`deleting shared file ${name}`, error);
    }
  }

  protected sharedWhere(name: SharedFileName): string {
    return join(this.path, 'shared', name);
  }

  // --- stats -------------------------------------------------------------------------------

  protected async appendValidStats(record: StatsRecord): Promise<void> {
    this.statsLog = this.writableLog(this.statsLog, 'stats');
    try {
      await this.statsLog.append(`${JSON.stringify(record)}\n`);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw notFoundError(this.locator);
      throw wrapIo(`appending stats to ${this.locator}`, error);
    }
  }

  async *readStats(options: { unreadOnly?: boolean } = {}): AsyncIterable<StatsRecord> {
    const dir = join(this.path, 'stats');
    let names: string[];
    let finished: Set<string>;
    try {
      const all = await readdir(dir);
      finished = new Set(
        all.filter((n) => n.endsWith('.done')).map((n) => `${n.slice(0, -5)}.log`),
      );
      names = all.filter((n) => n.endsWith('.log')).sort();
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) throw notFoundError(this.locator);
      throw wrapIo(`listing stats of ${this.locator}`, error);
    }
    const cursorPath = join(dir, READ_CURSOR);
    const cursor: Record<string, number> = options.unreadOnly ? await readCursor(cursorPath) : {};
    let unsaved = 0;
    try {
      for (const name of names) {
        const path = join(dir, name);
        let lineNo = 0;
        const start = cursor[name] ?? 0;
        // A finished log (its writer closed it) that was read to the end: nothing to do.
        if (start === FULLY_READ) continue;
        for await (const chunk of readLogLines(
          path,
          start,
          finished.has(name) ? { where: path } : undefined,
        )) {
          for (const line of chunk) {
            lineNo += 1;
            const where = start === 0 ? `${path}:${lineNo}` : `${path}@${line.pos}`;
            // zod only for a record the hand check does not pass (its error names the problem).
            const value = parseJson(line.text, where);
            const record = isPlainStatsRecord(value)
              ? value
              : validateRecord((await recordSchemas()).StatsRecordSchema, value, where);
            // Delivered counts as read (also when the consumer stops after this one); the
            // position is saved in batches, so a crash re-delivers at most one batch.
            if (options.unreadOnly) {
              cursor[name] = line.end;
              unsaved += 1;
            }
            yield record;
            if (unsaved >= CURSOR_SAVE_EVERY) {
              await atomicWriteFile(cursorPath, JSON.stringify({ v: 1, files: cursor }));
              unsaved = 0;
            }
          }
        }
        if (options.unreadOnly && finished.has(name)) {
          cursor[name] = FULLY_READ;
          unsaved += 1;
        }
      }
    } finally {
      if (options.unreadOnly && unsaved > 0)
        await atomicWriteFile(cursorPath, JSON.stringify({ v: 1, files: cursor }));
    }
  }

  async close(): Promise<void> {
    await this.dropHandles();
    const logs = [this.jobLog, this.statsLog].filter((log) => log !== undefined);
    this.jobLog = this.statsLog = undefined;
    await Promise.all(
      logs.map(async (log) => {
        await log.close();
        await this.markDone(log.path);
      }),
    );
    this.generation += 1;
  }

  /**
   * Creates `<log>.done`: the log is final, so readers stop polling it and compaction may merge
   * it. An empty file appears whole, and it is not synced: every line of the log is durable
   * already, and a marker lost in a crash only leaves the log to the dead-writer rule (two
   * fsyncs and two directory fsyncs less when a one-shot worker closes its store).
   */
  private async markDone(logPath: string): Promise<void> {
    try {
      await (await open(`${logPath.slice(0, -4)}.done`, 'w', FILE_MODE)).close();
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw wrapIo(`closing ${this.locator}`, error);
    }
  }
}

async function readCursor(path: string): Promise<Record<string, number>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return {};
    throw wrapIo(`reading ${path}`, error);
  }
  const files = (parseJson(text, path) as { files?: unknown } | null)?.files;
  if (
    typeof files !== 'object' ||
    files === null ||
    Object.values(files).some((n) => typeof n !== 'number')
  )
    throw corruptError(path, 'it is not a read cursor');
  return files as Record<string, number>;
}

function parseLogLine(text: string, where: string): LogLineEntry {
  let value: LogLineEntry;
  try {
    value = JSON.parse(text) as LogLineEntry;
  } catch (error) {
    throw corruptError(where, 'the line is not JSON', error);
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.s !== 'number' ||
    typeof value.id !== 'string' ||
    (value.d !== true && value.r === undefined)
  )
    throw corruptError(where, 'the line is not a job log entry');
  return value;
}

function recordOfLine(
  schema: RecordSchemas['JobRecordSchema'],
  text: string,
  where: string,
  id: string,
): JobRecord {
  const entry = parseLogLine(text, where);
  if (entry.id !== id || entry.r === undefined) throw corruptError(where, `expected job ${id}`);
  if (isPlainJobRecord(entry.r)) return entry.r;
  return validateRecord(schema, entry.r, `${where} (job ${id})`);
}

/** The record of a log line when it passes the hand check (no zod needed), else undefined. */
function plainRecordOfLine(text: string, where: string, id: string): JobRecord | undefined {
  const entry = parseLogLine(text, where);
  if (entry.id !== id || entry.r === undefined) throw corruptError(where, `expected job ${id}`);
  return isPlainJobRecord(entry.r) ? entry.r : undefined;
}
