import { appendFileSync, createReadStream, fstatSync, renameSync, writeFileSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { report, toToilError } from '@toil/core';
import {
  WORKER_SUCCESS_MARKER_ENV,
  formatWorkerMeasures,
  type JobInvocation,
} from '@toil/batch-system';
import { openJobStore, type JobStore } from '@toil/jobstore';
import type { LocalResult } from './single-machine.js';
import { totalCpuSeconds } from './resources.js';
import {
  describeError,
  logHost,
  newWorkerDir,
  removeWorkerDir,
  shouldClean,
  summaryOf,
  workerRuntime,
  workflowModuleHere,
} from './worker-common.js';
import {
  loadWorkflowModule,
  recordFailedAttempt,
  runAttempt,
  type WorkerRuntime,
} from './worker-runtime.js';

/** The phases of a one-shot attempt, in the order it goes through them. */
type Phase = 'entry' | 'imports' | 'open' | 'module' | 'read' | 'run' | 'commit' | 'stats';

/**
 * Where one attempt of a one-shot worker spent its time, in milliseconds: `entry` from the
 * process's start to the worker's entry (Node's own start-up and the entry module), `imports`
 * the worker's own modules, `open` opening the store and reading its config, `module`
 * importing the workflow module (and what it imports), `read` reading the job, `run` the
 * job(s) without the store writes, `commit` the job store commits, `stats` appending the
 * stats record and closing the store. `cpuPhases` is the process's own CPU time (user +
 * system) in each phase, which other processes on the machine do not inflate as they do the
 * wall times. `cpu` is the process's CPU time (ms, with its reaped children), `rss` its peak
 * memory (bytes). Written as one JSON line to the file `TOIL_WORKER_PROFILE` names (`pnpm
 * bench slurm`).
 */
export type OneShotProfile = Record<Phase, number> & {
  cpuPhases: Record<Phase, number>;
  cpu: number;
  rss: number;
};

/** When the worker's entry module started: ms since the process started, and `process.cpuUsage()`. */
export interface WorkerEntered {
  wall: number;
  cpu: NodeJS.CpuUsage;
}

const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

/** Most bytes of a piped attempt's output kept for its log. */
const MAX_PIPED_LOG = 1 << 20;

/**
 * What this process writes to fd 1 and 2 from now on: the attempt's log. When they are files
 * (a batch system's output files, as Slurm's `--output`/`--error`) it is read back from them,
 * so the output of the processes the job started is in it too; otherwise (pipes) what this
 * process itself writes is kept, up to {@link MAX_PIPED_LOG} bytes (unless `tee` is false).
 * @internal
 */
export function outputFrom(tee = true): () => Readable | string {
  const files: Array<{ path: string; start: number }> = [];
  const seen = new Set<string>();
  const piped: Buffer[] = [];
  let pipedBytes = 0;
  for (const [fd, stream] of [
    [1, process.stdout],
    [2, process.stderr],
  ] as const) {
    let stat;
    try {
      // bigint: Node's realpath cache reads the last plain stat of any sync call, and a pipe's
      // (S_IFIFO) makes it stop resolving symlinks: the workflow module's imports then load a
      // second copy of the engine through node_modules links, or fail to resolve.
      stat = fstatSync(fd, { bigint: true });
    } catch {
      continue;
    }
    const key = `${stat.dev}:${stat.ino}`;
    if (stat.isFile()) {
      if (!seen.has(key)) files.push({ path: `/proc/self/fd/${fd}`, start: Number(stat.size) });
      seen.add(key);
      continue;
    }
    if (!tee) continue;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (
        pipedBytes < MAX_PIPED_LOG &&
        (typeof chunk === 'string' || chunk instanceof Uint8Array)
      ) {
        const bytes = Buffer.from(chunk as string);
        piped.push(bytes);
        pipedBytes += bytes.length;
      }
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  return () => {
    const out = new PassThrough();
    void (async () => {
      for (const { path, start } of files) {
        await new Promise<void>((resolve) => {
          const stream = createReadStream(path, { start });
          stream.on('end', resolve).on('error', () => resolve());
          stream.pipe(out, { end: false });
        });
      }
      out.end(Buffer.concat(piped));
    })();
    return out;
  };
}

/**
 * One attempt of one job in this process, as a batch system such as Slurm runs it
 * (`worker.js run ...`): opens the store, imports the workflow module, reads the job, runs it
 * (and the jobs it chains to), commits, appends its stats, writes what it measured of itself
 * as its last line of output ({@link formatWorkerMeasures}), and resolves to the exit status
 * (0 success, 1 failure). A failure is recorded on the job with the attempt's output as its
 * log (read back from the batch system's output files) before this resolves.
 *
 * @param entered when the worker's entry module started.
 */
export async function oneShotMain(
  invocation: JobInvocation,
  entered: WorkerEntered,
): Promise<number> {
  const profilePath = process.env.TOIL_WORKER_PROFILE;
  const marks: Partial<Record<Phase, number>> = {
    entry: entered.wall,
    imports: process.uptime() * 1000 - entered.wall,
  };
  const cpuMarks: Partial<Record<Phase, number>> = {
    entry: cpuMs(entered.cpu),
    imports: cpuMs(process.cpuUsage(entered.cpu)),
  };
  let t = process.uptime() * 1000;
  let cpu = profilePath ? process.cpuUsage() : entered.cpu;
  const lap = (key: Phase): void => {
    if (!profilePath) return;
    const now = process.uptime() * 1000;
    marks[key] = (marks[key] ?? 0) + now - t;
    cpuMarks[key] = (cpuMarks[key] ?? 0) + cpuMs(process.cpuUsage(cpu));
    t = now;
    cpu = process.cpuUsage();
  };
  const attemptLog = outputFrom();
  let store: JobStore | undefined;
  let runtime: WorkerRuntime | undefined;
  let ok = false;
  let local: LocalResult | undefined;
  let workerDir: string | undefined;
  let clean = 'never';
  try {
    store = await openJobStore(invocation.jobStore, { host: logHost });
    const config = await store.resume();
    clean = config.cleanWorkDir;
    lap('open');
    if (profilePath) {
      // Time inside the store's commits, apart from the job's own time.
      const commit = store.commit.bind(store);
      store.commit = async (ops) => {
        lap('run');
        try {
          return await commit(ops);
        } finally {
          lap('commit');
        }
      };
    }
    const names = await loadWorkflowModule(await workflowModuleHere(invocation.workflow, store));
    lap('module');
    workerDir = newWorkerDir(config);
    runtime = workerRuntime(store, config, names, workerDir);
    const record = await store.loadJob(invocation.jobId);
    lap('read');
    local = { result: await runAttempt(runtime, record, false) };
    lap('run');
    ok = true;
  } catch (error) {
    const reason = summaryOf(error);
    process.stderr.write(`Job ${invocation.jobId} failed:\n${describeError(error)}\n`);
    if (store) {
      const recordError = await recordFailedAttempt(store, invocation.jobId, attemptLog(), reason);
      if (recordError) report(logHost, 'warning', 'WORKER_FAILED', recordError);
    } else {
      report(logHost, 'error', 'WORKER_FAILED', describeError(toToilError(error)));
    }
    process.stderr.write(`toil worker: job ${invocation.jobId} failed: ${reason}\n`);
  } finally {
    lap('run');
    await runtime?.stats.flush().catch(() => undefined);
    await store?.close().catch(() => undefined);
    if (workerDir && shouldClean(clean, ok)) removeWorkerDir(workerDir);
    lap('stats');
  }
  // The process's own peak (getrusage), not the last job's (VmHWM, reset per job for --stats).
  const measures = {
    cpuTime: totalCpuSeconds(),
    peakMemory: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(formatWorkerMeasures(measures));
  if (profilePath) {
    const profile = {
      ...marks,
      cpuPhases: cpuMarks,
      cpu: measures.cpuTime * 1000,
      rss: measures.peakMemory,
    };
    try {
      appendFileSync(profilePath, `${JSON.stringify(profile)}\n`);
    } catch {
      // a measuring aid only
    }
  }
  const marker = process.env[WORKER_SUCCESS_MARKER_ENV];
  if (ok && marker) {
    try {
      // What it stored, so the leader need not read it back; whole or not at all.
      writeFileSync(`${marker}.tmp`, JSON.stringify(local));
      renameSync(`${marker}.tmp`, marker);
    } catch {
      // The batch system learns of the success from its scheduler instead.
    }
  }
  return ok ? 0 : 1;
}
