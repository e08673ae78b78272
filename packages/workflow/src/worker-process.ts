import type { ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import type { FailureKind } from '@toil/batch-system';
import type { JobStore } from '@toil/jobstore';
import type { AttemptResult } from './worker-runtime.js';

/** Leader → worker messages. @internal */
export type ToWorker =
  /**
   * To a worker started before its workflow module was known (`--prestarted` without
   * `--module`): the module to load now, before the store exists.
   */
  | { type: 'load'; module: string }
  /**
   * To a worker started before its job store existed (`--prestarted`): the store exists now,
   * under `jobStore` (the locator as the store normalised it) when the worker was started
   * without one.
   */
  | { type: 'open'; jobStore?: string }
  | { type: 'run'; batchId: string; jobId: string; recordJson?: string; deferLeafDelete: boolean }
  | { type: 'shutdown' };

/** Worker → leader messages. @internal */
export type FromWorker =
  | { type: 'ready' }
  /** Records the attempt created, sent in chunks before 'done' (one huge message would not fit). */
  | { type: 'created'; batchId: string; createdJson: string[] }
  | { type: 'done'; batchId: string; ok: true; result: AttemptResult; measures: Measures }
  | { type: 'done'; batchId: string; ok: false; error: string; measures: Measures };

/** CPU seconds of an attempt and the worker's peak RSS in bytes. @internal */
export interface Measures {
  cpuTime: number;
  peakMemory: number;
}

/** How one attempt in a worker process ended. */
export interface WorkerOutcome {
  ok: boolean;
  exitCode: number;
  /** Set when the attempt failed. */
  failure?: FailureKind;
  reason?: string;
  /** CPU seconds of the attempt and peak RSS (bytes) of its worker, when the worker said. */
  cpuTime?: number;
  peakMemory?: number;
  result?: AttemptResult;
  wallTime: number;
  /** Set when the failure could not be recorded in the store. */
  recordError?: string;
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

/**
 * One worker process (a warm worker of the pool, or the single-job worker of a one-shot
 * attempt). Its stdout and stderr go to `worker_log.txt` in its directory; the part written
 * during a failed attempt is stored as the job's log. It runs in its own process group, so
 * killing it kills everything its jobs started.
 */
export class WorkerProcess {
  readonly logPath: string;
  private readonly child: ChildProcess;
  private exited = false;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;
  private current:
    | {
        batchId: string;
        created: string[];
        resolve: (message: FromWorker & { type: 'done' }) => void;
      }
    | undefined;
  private onExitDuringJob: (() => void) | undefined;

  /**
   * Starts the worker. Without `store` it was started before its job store existed (argv
   * with `--prestarted`): it loads its code and waits; {@link WorkerProcess.open} lets it go on.
   */
  constructor(
    argv: string[],
    readonly workerDir: string,
    private store: JobStore | undefined,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    mkdirSync(workerDir, { recursive: true });
    this.logPath = join(workerDir, 'worker_log.txt');
    const logFd = openSync(this.logPath, 'a');
    try {
      // Loaded on first use: a one-shot worker loads this module (with the package's index).
      const { spawn } = process.getBuiltinModule('node:child_process');
      this.child = spawn(argv[0]!, argv.slice(1), {
        stdio: ['ignore', logFd, logFd, 'ipc'],
        detached: true,
        env,
      });
    } finally {
      closeSync(logFd);
    }
    this.child.on('message', (message: FromWorker) => {
      const current = this.current;
      if (!current || !('batchId' in message) || current.batchId !== message.batchId) return;
      if (message.type === 'created') {
        for (const json of message.createdJson) current.created.push(json);
      } else if (message.type === 'done') {
        this.current = undefined;
        if (message.ok) message.result.createdJson = current.created;
        current.resolve(message);
      }
    });
    this.child.on('error', () => undefined);
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = { code, signal };
        this.onExitDuringJob?.();
        resolve();
      });
    });
  }

  /** Tells a worker started without its workflow module which module to load. */
  load(module: string): void {
    this.child.send({ type: 'load', module } satisfies ToWorker, () => undefined);
  }

  /** Tells a worker started without its store that `store` exists now (see the constructor). */
  open(store: JobStore): void {
    this.store = store;
    this.child.send({ type: 'open', jobStore: store.locator } satisfies ToWorker, () => undefined);
  }

  /**
   * Lets this process exit while the worker still runs (a worker started ahead of a workflow
   * that may never adopt it, see `offerPoolWorker`); {@link WorkerProcess.ref} undoes it.
   */
  unref(): void {
    this.child.unref();
    this.child.channel?.unref();
  }

  /** Keeps this process running while the worker runs (the default). */
  ref(): void {
    this.child.ref();
    this.child.channel?.ref();
  }

  /** The worker's pid. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return !this.exited;
  }

  /**
   * Runs one attempt. On failure (thrown, crashed, killed) the log of the attempt is stored
   * and recorded on the job before this resolves.
   */
  async run(
    batchId: string,
    jobId: string,
    recordJson: string | undefined,
    deferLeafDelete: boolean,
  ): Promise<WorkerOutcome> {
    const started = Date.now();
    const logStart = statSync(this.logPath).size;
    const message = await new Promise<(FromWorker & { type: 'done' }) | undefined>((resolve) => {
      if (this.exited) return resolve(undefined);
      this.current = { batchId, created: [], resolve };
      this.onExitDuringJob = () => resolve(undefined);
      const request: ToWorker = { type: 'run', batchId, jobId, recordJson, deferLeafDelete };
      this.child.send(request, (error) => {
        if (error) resolve(undefined);
      });
    });
    this.onExitDuringJob = undefined;
    this.current = undefined;
    const wallTime = (Date.now() - started) / 1000;
    if (message?.ok)
      return { ok: true, exitCode: 0, result: message.result, wallTime, ...message.measures };
    let exitCode = 1;
    let reason: string;
    let failure: FailureKind = 'job-error';
    if (message) {
      reason = message.error;
    } else {
      // The worker died during the attempt: make sure its whole group is gone.
      this.kill();
      await this.exitPromise;
      const { code, signal } = this.exitInfo ?? { code: null, signal: null };
      exitCode = signal ? 128 + signalNumber(signal) : (code ?? 1) || 1;
      if (signal) failure = 'killed';
      reason = signal
        ? `killed by signal ${signal}${signal === 'SIGKILL' ? ' (e.g. the out-of-memory killer)' : ''}`
        : `worker exited with code ${code}`;
    }
    const logEnd = statSync(this.logPath).size;
    const log =
      logEnd > logStart
        ? createReadStream(this.logPath, { start: logStart, end: logEnd - 1 })
        : `(no output)\n${reason}\n`;
    // Loaded on a failure only: `toil run` starts a worker before it loads the engine.
    const { recordFailedAttempt } = await import('./worker-runtime.js');
    const recordError = this.store
      ? await recordFailedAttempt(this.store, jobId, log, reason)
      : 'the worker ran a job before its job store was open';
    return {
      ok: false,
      exitCode,
      failure,
      reason,
      wallTime,
      recordError,
      ...(message ? message.measures : {}),
    };
  }

  /**
   * Kills the worker's whole process group at once; also after the worker itself exited, so
   * that processes its jobs started go too.
   */
  kill(): void {
    if (!this.child.pid) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      if (!this.exited) this.child.kill('SIGKILL');
    }
  }

  /** Asks an idle worker to flush its stats and exit; kills it if it does not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    try {
      this.child.send({ type: 'shutdown' } satisfies ToWorker);
    } catch {
      this.kill();
    }
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
    // Anything the worker's jobs left running in its group goes with it.
    this.kill();
  }

  /** Resolves when the process has exited. */
  exited$(): Promise<void> {
    return this.exitPromise;
  }
}
