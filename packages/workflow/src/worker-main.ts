import { ToilError } from '@toil/core';
import { openJobStore, type JobRecord } from '@toil/jobstore';
import { selfCpuSeconds } from './resources.js';
import { describeError, logHost, summaryOf, workerRuntime } from './worker-common.js';
import type { FromWorker, ToWorker } from './worker-process.js';
import { loadWorkflowModule, runAttempt, type WorkerRuntime } from './worker-runtime.js';
import type { TypeNames } from './serialize.js';

function flags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) out[arg.slice(2)] = argv[++i] ?? '';
  }
  return out;
}

/** Kills this worker and everything in its process group (its jobs' processes). */
function killOwnGroup(): never {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // not a group leader
  }
  process.kill(process.pid, 'SIGKILL');
  process.exit(1);
}

/**
 * A thread that kills the worker when its parent is gone, even while the main thread is
 * blocked in a job's synchronous code (the IPC 'disconnect' event needs a free event loop).
 */
function startParentWatchdog(): void {
  const code = `
    const start = process.ppid;
    setInterval(() => {
      if (process.ppid !== start) {
        try { process.kill(-process.pid, 'SIGKILL'); } catch {}
        process.kill(process.pid, 'SIGKILL');
      }
    }, 200);
  `;
  // Loaded here, not at import: the package's index (every workflow program) loads this module.
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  new Worker(code, { eval: true }).unref();
}

async function openRuntime(
  args: Record<string, string>,
  workerDir: string,
  loaded?: Promise<TypeNames>,
): Promise<WorkerRuntime> {
  const store = await openJobStore(args.jobStore!, { host: logHost });
  const config = await store.resume();
  const names = await (loaded ?? loadWorkflowModule(args.module!));
  // The leader runs on this machine and reads the store through the same OS: a chained job
  // may start once the commit before it is written (see ARCHITECTURE.md, "Chains and durability").
  return { ...workerRuntime(store, config, names, workerDir), chainCommit: 'written' };
}

/** A warm worker: loads the workflow module once, then runs jobs sent by the leader over IPC. */
async function poolMain(args: Record<string, string>): Promise<void> {
  // Until a job runs, the event loop is free and 'disconnect' is enough; the watchdog thread
  // (a Node instance of its own) starts with the first job, not during start-up.
  let watchdog = false;
  process.on('disconnect', () => killOwnGroup());
  const inbox: ToWorker[] = [];
  let wake: (() => void) | undefined;
  process.on('message', (message: ToWorker) => {
    inbox.push(message);
    wake?.();
  });
  const send = (message: FromWorker) =>
    new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
  const next = async (): Promise<ToWorker> => {
    while (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    return inbox.shift()!;
  };
  let runtime: WorkerRuntime | undefined;
  let fatal: string | undefined;
  let fatalReason: string | undefined;
  try {
    let loaded: Promise<TypeNames> | undefined;
    if (args.prestarted) {
      if (args.module === undefined) {
        // Started before the module was known (`toil run`'s first worker): told which to load.
        const first = await next();
        if (first.type === 'shutdown') process.exit(0);
        if (first.type !== 'load') throw new Error('the worker was not told its workflow module');
        args.module = first.module;
      }
      // Started while the leader creates the store: load the code now, open the store once told.
      loaded = loadWorkflowModule(args.module);
      loaded.catch(() => undefined);
      const first = await next();
      if (first.type === 'shutdown') process.exit(0);
      if (first.type !== 'open') inbox.unshift(first);
      else if (first.jobStore) args.jobStore = first.jobStore;
    }
    runtime = await openRuntime(args, args.workerDir!, loaded);
  } catch (error) {
    // A module that failed to load names itself; the log gets the hint, the leader one line.
    const named = ToilError.is(error) && error.code === 'WORKFLOW_MODULE_FAILED';
    const prefix = named ? '' : 'The worker could not load the workflow: ';
    fatal = `${prefix}${describeError(error)}`;
    fatalReason = `${prefix}${summaryOf(error)}`;
  }
  await send({ type: 'ready' });
  for (;;) {
    const message = await next();
    if (message.type === 'open' || message.type === 'load') continue;
    if (message.type === 'shutdown') {
      await runtime?.stats.flush().catch(() => undefined);
      await runtime?.store.close().catch(() => undefined);
      process.exit(0);
    }
    if (fatal || !runtime) {
      process.stderr.write(`${fatal}\n`);
      await send({
        type: 'done',
        batchId: message.batchId,
        ok: false,
        error: fatalReason ?? 'no runtime',
        measures: { cpuTime: 0, peakMemory: process.resourceUsage().maxRSS * 1024 },
      });
      continue;
    }
    if (!watchdog) {
      watchdog = true;
      startParentWatchdog();
    }
    const cpu0 = selfCpuSeconds();
    const measures = () => ({
      cpuTime: Math.max(0, selfCpuSeconds() - cpu0),
      peakMemory: process.resourceUsage().maxRSS * 1024,
    });
    try {
      let record: JobRecord;
      if (message.recordJson) {
        record = JSON.parse(message.recordJson) as JobRecord;
        // Handed over before the batch system named the attempt; a chained job runs under it.
        record.batchId ??= message.batchId;
      } else record = await runtime.store.loadJob(message.jobId);
      const result = await runAttempt(runtime, record, message.deferLeafDelete);
      const created = result.createdJson;
      for (let i = 0; i < created.length; i += 1000) {
        await send({
          type: 'created',
          batchId: message.batchId,
          createdJson: created.slice(i, i + 1000),
        });
      }
      await send({
        type: 'done',
        batchId: message.batchId,
        ok: true,
        result: { ...result, createdJson: [] },
        measures: measures(),
      });
    } catch (error) {
      const text = describeError(error);
      process.stderr.write(`Job ${message.jobId} failed:\n${text}\n`);
      const summary = ToilError.is(error)
        ? error.message
        : error instanceof Error
          ? `${error.name}: ${error.message}`
          : String(error);
      await send({
        type: 'done',
        batchId: message.batchId,
        ok: false,
        error: summary,
        measures: measures(),
      });
    }
  }
}

/** The warm worker's entry: `worker.js pool ...`, started by the single-machine batch system. */
export async function workerMain(argv: string[]): Promise<void> {
  const [mode, ...rest] = argv;
  if (mode === 'pool' && process.send) {
    await poolMain(flags(rest));
  } else {
    process.stderr.write(
      'Usage: worker.js run --jobStore LOCATOR --jobId JOB_ID --workflow FILE [--compiled FILE --hash SHA256]\n',
    );
    process.exitCode = 2;
  }
}
