import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  limitConcurrency,
  parseDuration,
  report,
  ToilError,
  type IoHost,
  type Limiter,
} from '@toil/core';
import {
  defineBatchSystem,
  DirWatch,
  groupDemand,
  parseWarmClaimName,
  parseWorkerMeasures,
  WARM_DIRS,
  warmInboxName,
  WORKER_SUCCESS_MARKER_ENV,
  warmWorkerArguments,
  workerArguments,
  type JobRequirements,
  type WarmResult,
  type BatchSystem,
  type BatchSystemContext,
  type FailureKind,
  type FinishedJob,
  type IssuedJob,
  type JobInvocation,
  type NodeActivity,
  type NodeView,
  type OptionValues,
  type PrestartContext,
  type Prestarted,
  type ResourceDemand,
  type ScalingCapability,
} from '@toil/batch-system';
import {
  CommandNotFoundError,
  isControllerUnreachable,
  runCommand,
  slurmMessage,
  type CommandOutput,
} from './run-command.js';
import {
  outcomeOf,
  parseSacct,
  parseScontrolJobs,
  parseSqueue,
  SACCT_FORMAT,
  TERMINAL_STATES,
  type SlurmJobState,
} from './states.js';
import {
  batchScript,
  parseSlurmArgs,
  readSlurmSettings,
  sbatchArgs,
  shellWords,
  slurmJobName,
  type SlurmSettings,
  type SlurmSubmission,
} from './submit.js';
import {
  launchWithSrun,
  srunArgs,
  srunEnvironment,
  ONE_SHOT_LAUNCHES,
  WARM_LAUNCHES,
  type OneShotLaunch,
  type SrunLaunch,
  type WarmLaunch,
} from './srun-launch.js';

/**
 * Where final job states come from:
 * - `auto` (default): `sacct`; when accounting is disabled (or sacct does not know a job yet),
 *   `scontrol show job`.
 * - `sacct`: only `sacct` (slurmdbd accounting).
 * - `sacct-completion`: `sacct -c`, which reads the job-completion log (`JobCompType=jobcomp/filetxt`).
 * - `scontrol`: only `scontrol show job` (jobs stay there for `MinJobAge` seconds).
 */
export type SlurmStateSource = 'auto' | 'sacct' | 'sacct-completion' | 'scontrol';

const STATE_SOURCES: readonly SlurmStateSource[] = [
  'auto',
  'sacct',
  'sacct-completion',
  'scontrol',
];

/** Options of {@link SlurmBatchSystem} beyond those in the workflow's options. */
export interface SlurmBatchSystemOptions {
  /** Seconds between two looks at the queue (one `squeue` for all jobs). Default 1. */
  pollInterval?: number;
  /** Where final states come from. Default `auto`. */
  stateSource?: SlurmStateSource;
  /** Directory for the jobs' Slurm output and error files; must be visible on compute nodes. */
  logDir?: string;
  /** How many `sbatch` commands may run at once. Default 8. */
  submitConcurrency?: number;
  /** Seconds a job may be unknown to Slurm (gone from the queue, no final state) before it counts as lost. Default 60. */
  lostAfter?: number;
  /** Most warm workers at once (`--slurmWarmWorkers`); 0 (default) runs every attempt as its own Slurm job. */
  warmWorkers?: number;
  /** Seconds a warm worker waits for work before it exits (`--slurmWarmIdle`). Default 30. */
  warmIdle?: number;
  /** How warm workers are started (`--slurmWarmLaunch`). Default `srun`. */
  warmLaunch?: WarmLaunch;
  /** How one-shot jobs are started (`--slurmLaunch`). Default `auto`. */
  launch?: OneShotLaunch;
}

interface TrackedJob {
  batchId: string;
  job: SlurmSubmission;
  /** Slurm's last state of it (PENDING, RUNNING...). */
  queueState?: string;
  outputFile: string;
  errorFile: string;
  /** When we first looked for its final state and found none. */
  missingSince?: number;
  /** Set for a warm worker: the class of attempts it runs. */
  warmClass?: string;
  /** The file (in the marker directory) its worker creates when the attempt succeeded. */
  marker?: string;
  /** For a job started with srun: whether Slurm granted it at once, and srun's end. */
  launcher?: Pick<SrunLaunch, 'granted' | 'exited'>;
}

/** An attempt handed to the warm workers of a class. */
interface WarmAttempt {
  jobId: string;
  warmClass: string;
}

/** The attempts handed to warm workers and not yet reported, counted per class as they change. */
class WarmAttemptMap extends Map<string, WarmAttempt> {
  private readonly perClass = new Map<string, number>();

  override set(attempt: string, value: WarmAttempt): this {
    const old = this.get(attempt);
    if (old) this.count(old.warmClass, -1);
    this.count(value.warmClass, 1);
    return super.set(attempt, value);
  }

  override delete(attempt: string): boolean {
    const old = this.get(attempt);
    if (old) this.count(old.warmClass, -1);
    return super.delete(attempt);
  }

  override clear(): void {
    this.perClass.clear();
    super.clear();
  }

  /** How many attempts of `warmClass` wait or run. */
  countOf(warmClass: string): number {
    return this.perClass.get(warmClass) ?? 0;
  }

  /** The classes with attempts. */
  classes(): string[] {
    return [...this.perClass.keys()];
  }

  private count(warmClass: string, by: number): void {
    const n = (this.perClass.get(warmClass) ?? 0) + by;
    if (n > 0) this.perClass.set(warmClass, n);
    else this.perClass.delete(warmClass);
  }
}

const SOURCE = 'toil.batch.slurm';

/** Seconds of controller outage `poll` rides out (warning each time) before giving up. */
const CONTROLLER_PATIENCE = 120;
/** A Slurm job id (`42`, or `42_7` for an array task), never an option scancel could read. */
const SLURM_JOB_ID = /^\d+(_\d+)?$/;
/**
 * Most milliseconds between two looks at the warm workers' results (`done/`) and the one-shot
 * workers' success markers: a change there wakes {@link SlurmBatchSystem.poll} at once where
 * the file system notifies changes (inotify); this paces it where it does not (NFS).
 */
const WARM_COLLECT_MS = 100;
/** Milliseconds a node view is answered again instead of asking `sinfo` anew. */
const NODE_VIEW_REUSE_MS = 2000;
/** Milliseconds an idle warm worker gets to end by itself at shutdown before it is cancelled. */
const WARM_STOP_MS = 10_000;

/** Most milliseconds a finished job started with srun is given to have its output written. */
const SRUN_OUTPUT_WAIT_MS = 5000;

/**
 * Warm workers of a class that may fail in a row before they took any job before the class's
 * jobs go one-shot (see `warmWorkerFailedBeforeWork`): more than the workers started at once,
 * so that one bad node does not give up the class.
 */
const WARM_START_FAILURES = 3;
/** Milliseconds between two looks at the queue while waiting for jobs to leave it. */
const QUEUE_WAIT_MS = 100;
/** Milliseconds between two looks at the queue while told warm workers leave it at shutdown. */
const WARM_STOP_POLL_MS = 25;
/** Queue states of a warm worker that, told to stop, ends by itself. */
const ENDING_BY_ITSELF = new Set(['CONFIGURING', 'RUNNING', 'COMPLETING']);
/** The batch id of an attempt handed to warm workers. */
const WARM_ATTEMPT_ID = /^w[0-9a-z]+-\d+$/;

/** Warm workers are shared by attempts with the same requirements (cores, MiB, preemptible). */
function warmClassOf(r: JobRequirements): string {
  const mib = (bytes: number) => Math.ceil(bytes / 2 ** 20);
  return `c${Math.ceil(r.cores)}-m${mib(r.memory)}-d${mib(r.disk)}${r.preemptible ? '-p' : ''}`;
}

/**
 * Runs each job attempt as one Slurm batch job: `sbatch` to submit (the attempt's argv in a
 * generated batch script on stdin), one `squeue` per poll interval for all running jobs,
 * `sacct` (or `scontrol show job` when accounting is off) for final states and exit codes,
 * `scancel` to kill.
 */
export class SlurmBatchSystem implements BatchSystem {
  /** Shown in `toil stats`. */
  readonly name = 'slurm';
  /** The queue's demand and the nodes (`sinfo`); grows only when `--slurmCanGrow` says so. */
  readonly scaling: ScalingCapability;
  /** The command workers start with: `--slurmWorkerCommand`, else the engine's. */
  readonly workerCommand: readonly string[];
  private readonly host: IoHost;
  private readonly settings: SlurmSettings;
  private readonly workflowTag: string;
  private readonly logDir: string;
  private readonly pollIntervalMs: number;
  private readonly lostAfterMs: number;
  private stateSource: SlurmStateSource;
  private readonly jobs = new Map<string, TrackedJob>();
  private readonly finished: FinishedJob[] = [];
  private lastCheck = 0;
  private controllerDownSince: number | undefined;
  /** At most this many `sbatch` at once. */
  private readonly submitLimit: Limiter;
  private closed = false;
  private wake: (() => void) | undefined;
  private interrupted = false;
  private readonly warmMax: number;
  private readonly warmIdle: number;
  /** How warm workers start (`--slurmWarmLaunch`); sbatch anyway once srun refused a job. */
  private readonly warmLaunch: WarmLaunch;
  /**
   * `--slurmLaunch auto`, unless `--slurmArgs` has `--export`: srun passes a job's environment
   * as its own, which that option would drop.
   */
  private readonly soleJobsWithSrun: boolean;
  /** srun did not start a job once: everything goes through sbatch from then on. */
  private srunRefused = false;
  /** One-shot jobs being started with srun (see {@link OneShotLaunch}). */
  private srunStarting = 0;
  /** `<logDir>/warm-<workflow>`: one directory per class of warm workers, and `workers`. */
  private readonly warmRoot: string;
  private readonly warmAttempts = new WarmAttemptMap();
  /** Makes this instance's warm attempt ids differ from a previous leader's. */
  private readonly warmEpoch = Date.now().toString(36);
  private warmSeq = 0;
  private srunSeq = 0;
  private lastWarmCollect = 0;
  /** Warm workers being submitted, by class. */
  private readonly warmStarting = new Map<symbol, string>();
  /**
   * `<logDir>/done-<workflow>-<epoch>`: one-shot workers create their success marker here
   * (`WORKER_SUCCESS_MARKER_ENV`), read as often as warm results.
   */
  private readonly markerDir: string;
  private markerSeq = 0;
  private lastMarkerCollect = 0;
  /** The marker directory and the warm classes' `done/`: a change wakes `poll`. */
  private readonly results = new DirWatch();
  /** Warm workers (Slurm ids) that reported a failed attempt: their output files are kept. */
  private readonly warmFailures = new Set<string>();
  /** Warm workers (Slurm ids) that reported at least one attempt. */
  private readonly warmWorkersThatWorked = new Set<string>();
  /** Per class: warm workers in a row that failed before they reported any attempt. */
  private readonly warmStartFailures = new Map<string, number>();
  /** Classes whose workers keep failing before they take a job: their jobs go one-shot. */
  private readonly brokenWarmClasses = new Set<string>();
  /** The run this instance was made for (a prestarted instance is adopted only by it). */
  readonly run: string;
  /** The last node view (`sinfo`) and when it was read. */
  private nodeView: { view: Promise<NodeView[]>; at: number } | undefined;
  /** Warm workers {@link SlurmBatchSystem.prestartWarm} is submitting. */
  private prestarting: Promise<unknown> = Promise.resolve();

  constructor(
    context: BatchSystemContext<SlurmOptionValues | Record<string, unknown>>,
    options: SlurmBatchSystemOptions = {},
  ) {
    this.host = context.host;
    this.settings = readSlurmSettings(context.options);
    const workflowId = context.workflowId;
    this.workflowTag = workflowId
      ? workflowId.slice(0, 16)
      : createHash('sha256').update(context.jobStoreLocator).digest('hex').slice(0, 8);
    const command = optionString(context.options, 'slurmWorkerCommand');
    this.workerCommand = command
      ? shellWords(command, '--slurmWorkerCommand')
      : context.workerCommand;
    this.scaling = {
      canGrow: context.options.slurmCanGrow === true,
      demand: () => this.demand(),
      nodes: () => this.nodes(),
    };
    const logDir =
      options.logDir ??
      optionString(context.options, 'slurmLogDir') ??
      optionString(context.options, 'batchLogsDir') ??
      // The work directory itself (the system's temporary directory unless --workDir): it
      // exists on every node, so Slurm can open the files there even without a shared file
      // system (a launched cluster), where a subdirectory made here would not exist.
      context.workDir;
    this.logDir = resolve(logDir);
    this.pollIntervalMs =
      1000 *
      (options.pollInterval ??
        numberOption(context.options, 'slurmPollInterval', 'TOIL_SLURM_POLL_INTERVAL') ??
        1);
    this.lostAfterMs = 1000 * (options.lostAfter ?? 60);
    this.stateSource = choiceOption(context.options, {
      given: options.stateSource,
      key: 'slurmStateSource',
      envName: 'TOIL_SLURM_STATE_SOURCE',
      choices: STATE_SOURCES,
      fallback: 'auto',
      what: 'Slurm state source',
    });
    this.submitLimit = limitConcurrency(options.submitConcurrency ?? 8);
    this.warmMax = Math.floor(
      options.warmWorkers ??
        numberOption(context.options, 'slurmWarmWorkers', 'TOIL_SLURM_WARM_WORKERS', 'count') ??
        0,
    );
    this.warmIdle = options.warmIdle ?? numberOption(context.options, 'slurmWarmIdle', '') ?? 30;
    this.warmLaunch = choiceOption(context.options, {
      given: options.warmLaunch,
      key: 'slurmWarmLaunch',
      envName: 'TOIL_SLURM_WARM_LAUNCH',
      choices: WARM_LAUNCHES,
      fallback: 'srun',
      what: 'way to start warm workers',
    });
    const launch: OneShotLaunch = choiceOption(context.options, {
      given: options.launch,
      key: 'slurmLaunch',
      envName: 'TOIL_SLURM_LAUNCH',
      choices: ONE_SHOT_LAUNCHES,
      fallback: 'auto',
      what: 'way to start one-shot jobs',
    });
    this.soleJobsWithSrun =
      launch === 'auto' && !this.settings.extraArgs.some((arg) => /^--export(=|$)/.test(arg));
    this.warmRoot = join(this.logDir, `warm-${this.workflowTag}`);
    this.run = `${context.jobStoreLocator}\n${workflowId}`;
    this.markerDir = join(this.logDir, `done-${this.workflowTag}-${this.warmEpoch}`);
  }

  /**
   * Checks that the Slurm commands exist and the controller answers (`sinfo`), that the
   * partition (if any) exists, and creates the log directory. The same `sinfo` is the first
   * node view ({@link SlurmBatchSystem.scaling}), so the leader's first look at the nodes asks
   * Slurm nothing more.
   *
   * @throws ToilError `BATCH_SYSTEM_UNAVAILABLE` or `INVALID_ARGUMENT` (unknown partition).
   */
  async start(): Promise<void> {
    const output = await this.slurm(
      ['sinfo', '-h', '-N', '-o', `${SINFO_NODE_FORMAT}|%R`],
      'Checking the Slurm cluster',
    );
    if (output.code !== 0)
      throw new ToilError(
        'BATCH_SYSTEM_UNAVAILABLE',
        `Slurm is not reachable: ${slurmMessage(output)}`,
        {
          hint: 'Check that slurmctld is running and that SLURM_CONF (or /etc/slurm/slurm.conf) points at it.',
        },
      );
    const at = Date.now();
    let partitions = partitionsOf(output.stdout);
    this.nodeView = { view: Promise.resolve(parseSinfoNodes(output.stdout)), at };
    const partition = this.settings.partition;
    // A partition without nodes is listed only without -N.
    if (partition !== undefined && !partitions.includes(partition))
      partitions = partitionsOf(
        (await this.slurm(['sinfo', '-h', '-o', '%R'], 'Checking the Slurm cluster')).stdout,
      );
    if (partition !== undefined && !partitions.includes(partition))
      throw new ToilError('INVALID_ARGUMENT', `Slurm has no partition '${partition}'.`, {
        hint: `Use one of: ${partitions.join(', ') || '(none)'}.`,
      });
    mkdirSync(this.markerDir, { recursive: true });
    this.results.add(this.markerDir);
    report(
      this.host,
      'debug',
      'SLURM_READY',
      `Slurm reachable; partitions: ${partitions.join(', ')}`,
      {
        partitions,
        logDir: this.logDir,
        stateSource: this.stateSource,
      },
      SOURCE,
    );
  }

  /**
   * Submits one job attempt with `sbatch` and resolves to the Slurm job id.
   *
   * @throws ToilError `BATCH_SYSTEM_UNAVAILABLE` (no sbatch, controller unreachable) or
   * `BATCH_SUBMIT_FAILED` (Slurm rejected the job), naming the job and quoting Slurm.
   */
  async issue(job: IssuedJob): Promise<string> {
    // Jobs with a time limit keep their own Slurm job (and its --time).
    if (this.warmMax > 0 && job.requirements.runtime === undefined) {
      const attempt = await this.issueWarm(job);
      if (attempt !== undefined) return attempt;
    }
    // The worker says when it succeeded: known at once, not at the next look at the queue.
    const marker = `${++this.markerSeq}`;
    const submission: SlurmSubmission = {
      jobId: job.jobId,
      name: job.name,
      requirements: job.requirements,
      argv: [...this.workerCommand, ...workerArguments(job.invocation)],
      env: { ...job.env, [WORKER_SUCCESS_MARKER_ENV]: join(this.markerDir, marker) },
    };
    if (this.soleJobsWithSrun && this.srunStarting === 0 && !this.hasOneShotJob()) {
      this.srunStarting += 1;
      try {
        const id = await this.startWithSrun(submission, { marker });
        if (id !== undefined) return id;
      } finally {
        this.srunStarting -= 1;
      }
    }
    return this.submitAs(submission, undefined, marker);
  }

  /** Whether a one-shot job (not a warm worker) is followed in Slurm now. */
  private hasOneShotJob(): boolean {
    for (const tracked of this.jobs.values()) if (tracked.warmClass === undefined) return true;
    return false;
  }

  /**
   * Submits any command as one Slurm job (what {@link SlurmBatchSystem.issue} does with the
   * worker command and a job's invocation) and resolves to the Slurm job id.
   *
   * @throws ToilError as {@link SlurmBatchSystem.issue}.
   */
  async submit(job: SlurmSubmission): Promise<string> {
    return this.submitAs(job);
  }

  /** The Slurm job name and output file patterns (`%j`: the Slurm job id) of a submission. */
  private namesOf(job: SlurmSubmission): {
    jobName: string;
    outputFile: string;
    errorFile: string;
  } {
    const jobName = slurmJobName(this.workflowTag, job);
    const base = join(this.logDir, jobName.slice(0, 120));
    return { jobName, outputFile: `${base}_%j.out`, errorFile: `${base}_%j.err` };
  }

  private async submitAs(
    job: SlurmSubmission,
    warmClass?: string,
    marker?: string,
  ): Promise<string> {
    if (this.closed) throw new ToilError('INTERNAL', 'The Slurm batch system has been shut down.');
    const script = batchScript(job);
    const names = this.namesOf(job);
    const args = sbatchArgs(job, this.settings, names);
    const output: CommandOutput = await this.submitLimit(() =>
      this.slurm(['sbatch', ...args], `Submitting job ${job.name} (${job.jobId})`, script),
    );
    const batchId = /^(\d+)/.exec(output.stdout.trim())?.[1];
    if (output.code !== 0 || batchId === undefined) {
      const message = `Slurm did not accept job ${job.name} (${job.jobId}): ${slurmMessage(output)}`;
      if (isControllerUnreachable(output))
        throw new ToilError('BATCH_SYSTEM_UNAVAILABLE', message, {
          hint: 'Check that slurmctld is running and reachable (scontrol ping).',
          data: { jobId: job.jobId, sbatch: args },
        });
      throw new ToilError('BATCH_SUBMIT_FAILED', message, {
        hint: "Check the job's requirements (cores, memory, runtime) against the cluster (sinfo), and --slurmArgs / TOIL_SLURM_ARGS.",
        data: { jobId: job.jobId, sbatch: args },
      });
    }
    this.track(batchId, job, names, { warmClass, marker });
    return batchId;
  }

  /** Follows a submitted Slurm job from now on. */
  private track(
    batchId: string,
    job: SlurmSubmission,
    names: { outputFile: string; errorFile: string },
    extra: Pick<TrackedJob, 'warmClass' | 'marker' | 'launcher'>,
  ): void {
    const { warmClass, marker, launcher } = extra;
    // The first look at the queue comes a poll interval after the first job, not at once: a
    // job that just started has nothing to show there yet (successes come from files).
    if (this.lastCheck === 0) this.lastCheck = Date.now();
    this.jobs.set(batchId, {
      batchId,
      job,
      outputFile: names.outputFile.replace('%j', batchId),
      errorFile: names.errorFile.replace('%j', batchId),
      ...(warmClass === undefined ? {} : { warmClass }),
      ...(marker === undefined ? {} : { marker }),
      ...(launcher === undefined ? {} : { launcher }),
    });
    report(
      this.host,
      'debug',
      'SLURM_SUBMITTED',
      `Submitted ${job.name} (${job.jobId}) as Slurm job ${batchId}`,
      { jobId: job.jobId, batchId },
      SOURCE,
    );
  }

  /**
   * Starts a warm worker with srun (see {@link WarmLaunch}) and resolves to its Slurm job id;
   * with sbatch once srun refused (see {@link SlurmBatchSystem.startWithSrun}).
   */
  private async launchWarm(job: SlurmSubmission, warmClass: string): Promise<string> {
    return (await this.startWithSrun(job, { warmClass })) ?? this.submitAs(job, warmClass);
  }

  /**
   * Starts `job` with srun and follows it; resolves to its Slurm job id, or undefined when srun
   * refused (an option srun does not know, interactive jobs not allowed, no srun), after a
   * warning the first time: from then on warm workers and one-shot jobs are submitted with
   * sbatch only.
   */
  private async startWithSrun(
    job: SlurmSubmission,
    extra: Pick<TrackedJob, 'warmClass' | 'marker'>,
  ): Promise<string | undefined> {
    if (this.closed) throw new ToilError('INTERNAL', 'The Slurm batch system has been shut down.');
    if (this.srunRefused) return undefined;
    const names = this.namesOf(job);
    const args = srunArgs(job, this.settings, names);
    let launched;
    try {
      launched = await this.submitLimit(() =>
        launchWithSrun(
          args,
          job.argv,
          srunEnvironment(process.env, job.env),
          join(this.logDir, `srun-${this.workflowTag}-${process.pid}-${++this.srunSeq}.log`),
        ),
      );
    } catch (error) {
      if (!(error instanceof CommandNotFoundError)) throw error;
      launched = {
        granted: false,
        message: 'srun is not installed or not on PATH',
        exited: Promise.resolve(null),
      };
    }
    if (launched.batchId === undefined) {
      if (!this.srunRefused)
        report(
          this.host,
          'warning',
          'SLURM_SRUN_REFUSED',
          `srun did not start ${extra.warmClass === undefined ? `job ${job.name} (${job.jobId})` : 'a warm worker'} (${launched.message}); warm workers and jobs are submitted with sbatch instead (--slurmLaunch sbatch and --slurmWarmLaunch sbatch do so without trying srun).`,
          { srun: args },
          SOURCE,
        );
      this.srunRefused = true;
      return undefined;
    }
    const { granted, exited } = launched;
    this.track(launched.batchId, job, names, { ...extra, launcher: { granted, exited } });
    return launched.batchId;
  }

  /**
   * Resolves with attempts that finished since the last call, waiting up to `timeoutMs` for
   * one. Looks at the queue at most once per poll interval, whatever the number of jobs.
   */
  async poll(timeoutMs: number): Promise<FinishedJob[]> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      if (this.finished.length > 0 || this.interrupted) {
        this.interrupted = false;
        return this.finished.splice(0);
      }
      const now = Date.now();
      const busy = this.jobs.size > 0 || this.warmAttempts.size > 0;
      if (busy && now - this.lastCheck >= this.pollIntervalMs) {
        this.lastCheck = now;
        this.lastWarmCollect = now;
        await this.check();
        continue;
      }
      // Warm workers' results and one-shot workers' success markers are files: looked at
      // more often than the queue.
      const warm = this.warmAttempts.size > 0;
      if (warm && now - this.lastWarmCollect >= WARM_COLLECT_MS) {
        this.lastWarmCollect = now;
        await this.collectWarm();
        continue;
      }
      const marked = this.awaitsMarkers();
      if (marked && now - this.lastMarkerCollect >= WARM_COLLECT_MS) {
        this.lastMarkerCollect = now;
        await this.collectMarkers();
        continue;
      }
      if (now >= deadline) return [];
      const nextCheck = Math.min(
        (busy ? this.lastCheck : now) + this.pollIntervalMs,
        warm ? this.lastWarmCollect + WARM_COLLECT_MS : Number.POSITIVE_INFINITY,
        marked ? this.lastMarkerCollect + WARM_COLLECT_MS : Number.POSITIVE_INFINITY,
      );
      const controller = new AbortController();
      const woken = new Promise<'woken'>((resolveWake) => {
        this.wake = () => resolveWake('woken');
      });
      const result = await Promise.race([
        this.results
          .wait(Math.max(1, Math.min(deadline, nextCheck) - now), controller.signal)
          .then((changed) => (changed ? 'changed' : 'slept')),
        woken,
      ]);
      controller.abort();
      this.wake = undefined;
      if (result === 'woken') {
        this.interrupted = false;
        return this.finished.splice(0);
      }
      if (result === 'changed') {
        // A worker reported: look at the results now, not at the next turn.
        this.lastWarmCollect = 0;
        this.lastMarkerCollect = 0;
      }
    }
  }

  /** Makes a pending {@link poll} return at once (the leader calls it on signals and kill flags). */
  interrupt(): void {
    // Also while poll runs squeue or sacct rather than sleeping: it returns at its next turn.
    this.interrupted = true;
    this.wake?.();
  }

  /**
   * Cancels attempts with one `scancel` and resolves once Slurm no longer lists them as
   * pending, running or completing. Killed attempts are not reported by {@link poll}.
   */
  async kill(batchIds: string[]): Promise<void> {
    const unique = [...new Set(batchIds)];
    // A warm attempt not yet claimed is withdrawn; a claimed one goes with its worker (whose
    // other attempts are then reported failed when it has left the queue).
    const workers = await this.withdrawWarm(unique.filter((id) => this.warmAttempts.has(id)));
    const ids = [...unique.filter((id) => !this.warmAttempts.has(id)), ...workers];
    for (const id of unique) this.warmAttempts.delete(id);
    if (ids.length === 0) return;
    for (const id of ids) if (this.jobs.get(id)?.warmClass === undefined) this.jobs.delete(id);
    const output = await this.slurm(['scancel', ...ids], `Cancelling Slurm jobs ${ids.join(',')}`);
    if (output.code !== 0 && !/Invalid job id|already completing or completed/i.test(output.stderr))
      throw new ToilError(
        'BATCH_SYSTEM_UNAVAILABLE',
        `scancel ${ids.join(' ')} failed: ${slurmMessage(output)}`,
        {
          hint: 'Cancel them by hand with scancel once the controller is reachable.',
          data: { batchIds: ids },
        },
      );
    const wanted = new Set(ids);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const queue = await this.squeue();
      const left = queue === undefined ? ids : ids.filter((id) => queue.has(id));
      if (left.length === 0) break;
      if (Date.now() > deadline) {
        report(
          this.host,
          'warning',
          'SLURM_KILL_SLOW',
          `Slurm jobs still listed a minute after scancel: ${left.join(',')}`,
          {
            batchIds: left,
          },
          SOURCE,
        );
        break;
      }
      await sleep(QUEUE_WAIT_MS);
    }
    report(
      this.host,
      'info',
      'SLURM_KILLED',
      `Cancelled Slurm jobs ${[...wanted].join(',')}`,
      { batchIds: ids },
      SOURCE,
    );
  }

  /**
   * Cancels the attempts a previous leader of this workflow submitted (the leader calls it on
   * `--restart` with the Slurm ids its records were left running with), like {@link kill}:
   * one `scancel`, then waits until Slurm no longer lists them. Ids of jobs that already left
   * Slurm are not an error. Ids that are not Slurm job ids (digits, or `N_M`) never reach
   * scancel: they are skipped with a `SLURM_STALE_ID_INVALID` warning.
   *
   * @throws ToilError `BATCH_SYSTEM_UNAVAILABLE` when scancel fails.
   */
  async killStale(batchIds: string[]): Promise<void> {
    const warm = batchIds.filter((id) => WARM_ATTEMPT_ID.test(id));
    if (warm.length > 0) {
      // The previous leader's warm workers, from its list; its attempts go with them.
      const listed = await readFile(join(this.warmRoot, 'workers'), 'utf8').catch(() => '');
      const workers = listed
        .split('\n')
        .filter((id) => SLURM_JOB_ID.test(id) && !this.jobs.has(id));
      await this.kill(workers);
      await rm(this.warmRoot, { recursive: true, force: true });
      batchIds = batchIds.filter((id) => !WARM_ATTEMPT_ID.test(id));
    }
    const invalid = batchIds.filter((id) => !SLURM_JOB_ID.test(id));
    if (invalid.length > 0)
      report(
        this.host,
        'warning',
        'SLURM_STALE_ID_INVALID',
        `Not cancelling ${invalid.map((id) => JSON.stringify(id)).join(', ')}: not Slurm job ids`,
        { batchIds: invalid },
        SOURCE,
      );
    await this.kill(batchIds.filter((id) => SLURM_JOB_ID.test(id)));
  }

  /** Slurm ids of attempts issued and not yet reported finished (or killed). */
  running(): string[] {
    const own = [...this.jobs.values()].filter((t) => t.warmClass === undefined);
    return [...own.map((t) => t.batchId), ...this.warmAttempts.keys()];
  }

  /**
   * Cancels every attempt still running; accepts no more jobs. Warm workers that run no
   * attempt are told to end (`stop`) and end by themselves, storing their jobs' stats on the
   * way out; the others are cancelled.
   */
  async shutdown(): Promise<void> {
    // Workers still being submitted are stopped with the others.
    await this.prestarting;
    this.closed = true;
    this.warmAttempts.clear();
    this.results.close();
    await this.stopWarmWorkers();
    await this.kill([...this.jobs.keys()]);
    await rm(this.warmRoot, { recursive: true, force: true });
    await rm(this.markerDir, { recursive: true, force: true });
  }

  /**
   * Reports the one-shot attempts whose worker created its success marker: the attempt is
   * durable in the job store and the worker is exiting 0, so it succeeded whatever Slurm
   * still shows (its figures are the worker's own, from its output file; what it stored, from
   * the marker, goes to the engine as `local`). Without a marker (a failure, a worker killed,
   * a node that does not share the directory) the queue decides.
   */
  private async collectMarkers(): Promise<void> {
    let names: Set<string>;
    try {
      names = new Set(await readdir(this.markerDir));
    } catch {
      return;
    }
    if (names.size === 0) return;
    for (const tracked of [...this.jobs.values()]) {
      if (tracked.marker === undefined || !names.has(tracked.marker)) continue;
      if (!this.jobs.delete(tracked.batchId)) continue;
      const path = join(this.markerDir, tracked.marker);
      const local = parseJson(await readFile(path, 'utf8').catch(() => ''));
      await removeFile(path);
      const finished = await this.finish(tracked, {
        id: tracked.batchId,
        state: 'COMPLETED',
        exitStatus: 0,
        signal: 0,
      });
      this.finished.push(local === undefined ? finished : { ...finished, local });
    }
  }

  private awaitsMarkers(): boolean {
    for (const tracked of this.jobs.values()) if (tracked.marker !== undefined) return true;
    return false;
  }

  /** One look at the queue: jobs no longer pending/running get their final state. */
  private async check(): Promise<void> {
    if (this.warmAttempts.size > 0 || this.warmWorkers().length > 0) await this.collectWarm();
    // Jobs submitted while squeue runs are not in its answer: look only at those known before.
    const known = [...this.jobs.keys()];
    const queue = await this.squeue();
    if (queue === undefined) return;
    let gone: string[] = [];
    for (const id of known) {
      const tracked = this.jobs.get(id);
      if (tracked === undefined) continue;
      const state = queue.get(id);
      if (state !== undefined) {
        delete tracked.missingSince;
        tracked.queueState = state;
      } else gone.push(id);
    }
    // A worker that succeeded created its marker before it exited, so before its job left the
    // queue: its success is read from there, without asking sacct or scontrol.
    if (gone.some((id) => this.jobs.get(id)?.marker !== undefined)) {
      await this.collectMarkers();
      gone = gone.filter((id) => this.jobs.has(id));
    }
    if (gone.length === 0) return;
    const states = await this.finalStates(gone);
    const now = Date.now();
    for (const id of gone) {
      const tracked = this.jobs.get(id);
      if (tracked === undefined) continue;
      const state = states.get(id);
      if (state !== undefined && TERMINAL_STATES.has(state.state)) {
        this.jobs.delete(id);
        if (tracked.warmClass !== undefined) await this.warmWorkerEnded(tracked, state);
        else this.finished.push(await this.finish(tracked, state));
        if (tracked.marker !== undefined) await removeFile(join(this.markerDir, tracked.marker));
        continue;
      }
      tracked.missingSince ??= now;
      if (now - tracked.missingSince >= this.lostAfterMs) {
        this.jobs.delete(id);
        if (tracked.warmClass !== undefined) {
          await this.warmWorkerEnded(tracked, { id, state: 'NODE_FAIL', exitStatus: 1, signal: 0 });
          continue;
        }
        this.finished.push({
          batchId: id,
          jobId: tracked.job.jobId,
          exitCode: 1,
          failure: 'lost-node',
          reason: `LOST: Slurm job ${id} left the queue and neither sacct nor scontrol knows how it ended`,
        });
      }
    }
  }

  private async finish(tracked: TrackedJob, state: SlurmJobState): Promise<FinishedJob> {
    const { job, batchId } = tracked;
    let errorTail = '';
    if (state.state !== 'COMPLETED' || state.exitStatus !== 0) {
      errorTail = await readTail(tracked.errorFile, 20);
      // Without cgroups Slurm kills an over-limit job itself and calls it FAILED.
      if (state.state === 'FAILED' && /exceeded (job )?memory limit/i.test(errorTail))
        state = { ...state, state: 'OUT_OF_MEMORY' };
    }
    const outcome = outcomeOf(state);
    // Without accounting storage Slurm has no CPU or memory figures: the worker's own are
    // the last line of its output.
    let measured =
      state.cpuTime === undefined
        ? parseWorkerMeasures(await readEnd(tracked.outputFile))
        : undefined;
    // A job srun started writes its output through slurmstepd, which may still be on its way
    // when the worker's success marker is there: srun exits once the step's output is written.
    if (state.cpuTime === undefined && measured === undefined && tracked.launcher) {
      await waitUntil(tracked.launcher.exited, Date.now() + SRUN_OUTPUT_WAIT_MS);
      measured = parseWorkerMeasures(await readEnd(tracked.outputFile));
    }
    const cpuTime = state.cpuTime ?? measured?.cpuTime;
    const peakMemory = state.peakMemory ?? measured?.peakMemory;
    if (outcome.exitCode === 0) {
      await Promise.all([removeFile(tracked.outputFile), removeFile(tracked.errorFile)]);
    }
    const reason =
      outcome.reason === undefined
        ? undefined
        : `${outcome.reason}. ${slurmOutputNote(tracked, errorTail)}`;
    report(
      this.host,
      // The leader reports failures itself, with the reason.
      'debug',
      'SLURM_JOB_FINISHED',
      `Slurm job ${batchId} (${job.name}) ended ${state.state}, exit code ${outcome.exitCode}`,
      { batchId, jobId: job.jobId, state: state.state, exitCode: outcome.exitCode },
      SOURCE,
    );
    return {
      batchId,
      jobId: job.jobId,
      exitCode: outcome.exitCode,
      ...(outcome.exitCode === 0 ? {} : { failure: failureKindOf(state) }),
      ...(reason === undefined ? {} : { reason }),
      ...(state.wallTime === undefined ? {} : { wallTime: state.wallTime }),
      ...(cpuTime === undefined ? {} : { cpuTime }),
      ...(peakMemory === undefined ? {} : { peakMemory }),
    };
  }

  private warmWorkers(): TrackedJob[] {
    return [...this.jobs.values()].filter((t) => t.warmClass !== undefined);
  }

  /**
   * Empties every warm class's inbox, writes `stop` into its directory and waits (at most
   * {@link WARM_STOP_MS}) until the workers that hold no claimed attempt have ended; those are
   * no longer tracked, and their Slurm output files are deleted unless one of their attempts
   * failed (as a one-shot job's are when it succeeded). A worker srun started, with its
   * allocation granted, has ended when its srun exits 0 (srun tells slurmctld that the
   * allocation ended, and waits for the answer, before it exits): no look at the queue for it.
   * The others (sbatch, queued, srun ended otherwise) are followed in the queue until they left
   * it. Workers not yet started or running an attempt stay for {@link kill} (a cancelled worker
   * loses the stats of its jobs of the last second, not yet stored).
   */
  private async stopWarmWorkers(): Promise<void> {
    const workers = this.warmWorkers();
    if (workers.length === 0) return;
    const busy = new Set<string>();
    for (const warmClass of new Set(workers.map((w) => w.warmClass!))) {
      const dir = join(this.warmRoot, warmClass);
      // Nothing more to claim; a worker that claimed before is busy and gets cancelled.
      const inbox = join(dir, WARM_DIRS.inbox);
      for (const name of await readdir(inbox).catch(() => [] as string[]))
        await removeFile(join(inbox, name));
      for (const name of await readdir(join(dir, WARM_DIRS.running)).catch(() => [] as string[]))
        busy.add(parseWarmClaimName(name)?.worker ?? '');
      writeFileSync(join(dir, 'stop'), '');
    }
    const deadline = Date.now() + WARM_STOP_MS;
    const idle = workers.filter((w) => !busy.has(w.batchId));
    // A job started with srun is never requeued: once granted (or seen running) it runs.
    const started = idle.filter(
      (w) => w.launcher && (w.launcher.granted || ENDING_BY_ITSELF.has(w.queueState ?? '')),
    );
    const [ended] = await Promise.all([
      this.awaitSruns(started, deadline),
      this.awaitLeaving(
        idle.filter((w) => !started.includes(w)),
        deadline,
      ),
    ]);
    for (const worker of ended) await this.dropStoppedWorker(worker);
    // An srun that ended otherwise (a signal, a worker's failure) or not in time: the queue says.
    await this.awaitLeaving(
      started.filter((w) => !ended.includes(w)),
      deadline,
    );
  }

  /** The workers among `workers` whose srun exited 0 before `deadline`. */
  private async awaitSruns(workers: TrackedJob[], deadline: number): Promise<TrackedJob[]> {
    if (workers.length === 0) return [];
    const codes = new Map<TrackedJob, number | null>();
    await waitUntil(
      Promise.all(workers.map((w) => w.launcher!.exited.then((code) => void codes.set(w, code)))),
      deadline,
    );
    return workers.filter((w) => codes.get(w) === 0);
  }

  /** A told worker ended: no longer tracked; its output files go unless an attempt failed. */
  private async dropStoppedWorker(worker: TrackedJob): Promise<void> {
    this.jobs.delete(worker.batchId);
    if (!this.warmFailures.has(worker.batchId))
      await Promise.all([removeFile(worker.outputFile), removeFile(worker.errorFile)]);
  }

  /**
   * Follows told workers in the queue until they left it or `deadline`: a worker Slurm started
   * (running, already completing or even gone because it saw `stop`) ends by itself; one still
   * pending (or suspended) stays tracked, for {@link kill}.
   */
  private async awaitLeaving(workers: TrackedJob[], deadline: number): Promise<void> {
    if (workers.length === 0) return;
    // Slurm's own view after they were told (the last poll may be older than their start).
    const states = await this.squeue();
    const idle =
      states === undefined
        ? []
        : workers.filter((w) => {
            const state = states.get(w.batchId);
            return state === undefined || ENDING_BY_ITSELF.has(state);
          });
    // Workers started with srun: srun ends once its job has, a surer sign than the next look.
    const launchers = idle.map((w) => w.launcher?.exited);
    let launchersAwaited = !launchers.every(Boolean);
    for (let queue = states; idle.length > 0 && Date.now() < deadline;) {
      if (queue !== undefined) {
        for (const worker of idle.filter((w) => !queue!.has(w.batchId))) {
          idle.splice(idle.indexOf(worker), 1);
          await this.dropStoppedWorker(worker);
        }
        if (idle.length === 0) break;
      }
      if (!launchersAwaited) {
        launchersAwaited = true;
        await waitUntil(Promise.all(launchers), deadline);
      } else {
        // A told worker ends within milliseconds and Slurm then lists it for its epilog only:
        // look more often than while jobs run, for this short wait only.
        await sleep(WARM_STOP_POLL_MS);
      }
      queue = await this.squeue();
    }
  }

  /**
   * Hands an attempt to the warm workers of its class (starting one when every worker of the
   * class has work and the pool has room); undefined when the pool is full of other classes,
   * so the attempt gets its own Slurm job.
   */
  private async issueWarm(job: IssuedJob): Promise<string | undefined> {
    const warmClass = warmClassOf(job.requirements);
    if (this.brokenWarmClasses.has(warmClass)) return undefined;
    // Workers being submitted count: issues may run concurrently.
    const starting = [...this.warmStarting.values()].filter((c) => c === warmClass).length;
    const workers = this.warmWorkers().length + this.warmStarting.size;
    const mine = this.warmWorkers().filter((t) => t.warmClass === warmClass).length + starting;
    const queued = this.warmAttempts.countOf(warmClass);
    if (mine === 0 || queued >= mine) {
      if (workers < this.warmMax) {
        // The first class gets every worker at once: a workflow on warm workers has many
        // jobs, and a worker started only when work queues up is Slurm's scheduling and a
        // worker's start-up later. Later classes get one as their work queues up.
        const count = workers === 0 ? this.warmMax : 1;
        const tokens = Array.from({ length: count }, () => Symbol(warmClass));
        for (const token of tokens) this.warmStarting.set(token, warmClass);
        try {
          await Promise.all(tokens.map(() => this.startWarmWorker(warmClass, job)));
        } finally {
          for (const token of tokens) this.warmStarting.delete(token);
        }
      } else if (mine === 0) return undefined;
    }
    const attempt = `w${this.warmEpoch}-${String(++this.warmSeq).padStart(7, '0')}`;
    // One empty file, named by the attempt and job: a worker claims it without reading it.
    writeFileSync(
      join(this.warmRoot, warmClass, WARM_DIRS.inbox, warmInboxName(attempt, job.jobId)),
      '',
    );
    this.warmAttempts.set(attempt, { jobId: job.jobId, warmClass });
    report(
      this.host,
      'debug',
      'SLURM_SUBMITTED',
      `Handed ${job.name} (${job.jobId}) to the warm workers as ${attempt}`,
      { jobId: job.jobId, batchId: attempt },
      SOURCE,
    );
    return attempt;
  }

  /**
   * Submits the warm workers for the first job's class before the job store exists (the
   * plugin's `prestart`), so that Slurm's scheduling and their start-up overlap the leader's;
   * they wait until the store exists. Counted as starting at once, so the first issue starts
   * no more; a failed submission is left for that issue to meet again. Nothing for a job with a
   * time limit, or without warm workers. `env`: the engine's environment additions for workers.
   */
  prestartWarm(
    requirements: JobRequirements,
    invocation: Omit<JobInvocation, 'jobId'>,
    env: Record<string, string> = {},
  ): boolean {
    if (this.warmMax <= 0 || requirements.runtime !== undefined) return false;
    const warmClass = warmClassOf(requirements);
    const job: IssuedJob = {
      jobId: '-',
      name: 'warm',
      requirements,
      invocation: { ...invocation, jobId: '-' },
      env,
    };
    const tokens = Array.from({ length: this.warmMax }, () => Symbol(warmClass));
    for (const token of tokens) this.warmStarting.set(token, warmClass);
    this.prestarting = Promise.all(
      tokens.map((token) =>
        this.startWarmWorker(warmClass, job)
          .catch(() => undefined)
          .finally(() => this.warmStarting.delete(token)),
      ),
    );
    return true;
  }

  /** Submits one warm worker for `warmClass`, sized by the job that asked for it. */
  private async startWarmWorker(warmClass: string, job: IssuedJob): Promise<void> {
    const dir = join(this.warmRoot, warmClass);
    for (const sub of Object.values(WARM_DIRS)) mkdirSync(join(dir, sub), { recursive: true });
    this.results.add(join(dir, WARM_DIRS.done));
    this.touchHeartbeat();
    this.warmJobs.set(warmClass, job);
    const { jobId: _jobId, ...invocation } = job.invocation;
    const argv = [
      ...this.workerCommand,
      ...warmWorkerArguments({
        invocation,
        dir,
        heartbeat: join(this.warmRoot, 'heartbeat'),
        idle: this.warmIdle,
        leaderTimeout: Math.max(30, (10 * this.pollIntervalMs) / 1000),
      }),
    ];
    const submission: SlurmSubmission = {
      jobId: `warm-${warmClass}`,
      name: 'warm',
      requirements: job.requirements,
      argv,
      env: job.env,
    };
    const id =
      this.warmLaunch === 'srun'
        ? await this.launchWarm(submission, warmClass)
        : await this.submitAs(submission, warmClass);
    appendFileSync(join(this.warmRoot, 'workers'), `${id}\n`);
  }

  /** The leader lives: warm workers exit when this file is older than their leader timeout. */
  private touchHeartbeat(): void {
    const path = join(this.warmRoot, 'heartbeat');
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      mkdirSync(this.warmRoot, { recursive: true });
      writeFileSync(path, '');
    }
  }

  /** Reports the attempts warm workers finished (`done/`), and restarts workers for waiting work. */
  private async collectWarm(): Promise<void> {
    this.touchHeartbeat();
    const classes = this.warmAttempts.classes();
    for (const warmClass of classes) {
      const done = join(this.warmRoot, warmClass, WARM_DIRS.done);
      for (const name of await readdir(done).catch(() => [] as string[])) {
        const attempt = this.warmAttempts.get(name);
        const path = join(done, name);
        if (attempt) {
          const result = JSON.parse(await readFile(path, 'utf8')) as WarmResult;
          this.warmAttempts.delete(name);
          if (result.exitCode !== 0 && result.worker) this.warmFailures.add(result.worker);
          if (result.worker) this.warmWorkersThatWorked.add(result.worker);
          this.warmStartFailures.delete(warmClass);
          this.finished.push({
            batchId: name,
            jobId: attempt.jobId,
            exitCode: result.exitCode,
            ...(result.exitCode === 0
              ? {}
              : {
                  failure: 'job-error' as const,
                  reason: `${result.reason ?? 'failed'} (in warm worker ${result.worker ?? '?'})`,
                }),
            wallTime: result.wallTime,
            cpuTime: result.cpuTime,
            peakMemory: result.peakMemory,
            ...(result.local === undefined ? {} : { local: result.local }),
          });
        }
        await removeFile(path);
      }
    }
    // Work waiting in a class whose workers all ended (idle, killed): start one again.
    const workers = this.warmWorkers();
    for (const warmClass of classes) {
      if (this.closed || workers.some((t) => t.warmClass === warmClass)) continue;
      if (workers.length + this.warmStarting.size >= this.warmMax) break;
      const first = [...this.warmAttempts.values()].find((a) => a.warmClass === warmClass)!;
      await this.startWarmWorker(warmClass, this.warmIssue(first));
      workers.push(this.warmWorkers().at(-1)!);
    }
  }

  private readonly warmJobs = new Map<string, IssuedJob>();

  private warmIssue(attempt: WarmAttempt): IssuedJob {
    return this.warmJobs.get(attempt.warmClass)!;
  }

  /**
   * A warm worker left the queue: the attempts it had claimed and not reported failed with
   * its end (e.g. `TIMEOUT` when Slurm stopped it at its time limit).
   */
  private async warmWorkerEnded(worker: TrackedJob, state: SlurmJobState): Promise<void> {
    const dir = join(this.warmRoot, worker.warmClass!);
    const outcome = outcomeOf(state);
    let lost = 0;
    let claimed = 0;
    for (const name of await readdir(join(dir, WARM_DIRS.running)).catch(() => [] as string[])) {
      const claim = parseWarmClaimName(name);
      if (!claim || claim.worker !== worker.batchId) continue;
      claimed += 1;
      const attempt = this.warmAttempts.get(claim.attempt);
      await removeFile(join(dir, WARM_DIRS.running, name));
      if (!attempt) continue;
      // It may have finished just before the worker ended.
      const done = await readFile(join(dir, WARM_DIRS.done, claim.attempt), 'utf8').catch(() => '');
      if (done) continue;
      this.warmAttempts.delete(claim.attempt);
      lost += 1;
      const errorTail = await readTail(worker.errorFile, 20);
      this.finished.push({
        batchId: claim.attempt,
        jobId: attempt.jobId,
        exitCode: outcome.exitCode || 1,
        failure: outcome.exitCode === 0 ? 'lost-node' : failureKindOf(state),
        reason:
          `${outcome.reason ?? `Slurm job ${worker.batchId} ended`} (warm worker running it). ` +
          slurmOutputNote(worker, errorTail),
      });
    }
    report(
      this.host,
      'debug',
      'SLURM_JOB_FINISHED',
      `Warm worker ${worker.batchId} ended ${state.state}${lost ? `, ${lost} attempt(s) lost with it` : ''}`,
      { batchId: worker.batchId, state: state.state },
      SOURCE,
    );
    // (Workers this leader cancels at its end are not failures.)
    if (
      claimed === 0 &&
      !this.closed &&
      state.state !== 'COMPLETED' &&
      !this.warmWorkersThatWorked.has(worker.batchId)
    )
      await this.warmWorkerFailedBeforeWork(worker, state);
    if (lost === 0 && state.state === 'COMPLETED')
      await Promise.all([removeFile(worker.outputFile), removeFile(worker.errorFile)]);
  }

  /**
   * A warm worker failed before it reported any attempt (a worker command or Node that does not
   * start on the node, a node that failed): after {@link WARM_START_FAILURES} in a row in its
   * class, the class's workers are given up. Its waiting attempts fail with the last worker's
   * end and output (so their jobs' retries follow), and its later attempts get one Slurm job
   * each, which report their own failures, rather than warm workers started again and again.
   */
  private async warmWorkerFailedBeforeWork(
    worker: TrackedJob,
    state: SlurmJobState,
  ): Promise<void> {
    const warmClass = worker.warmClass!;
    const failures = (this.warmStartFailures.get(warmClass) ?? 0) + 1;
    this.warmStartFailures.set(warmClass, failures);
    if (failures < WARM_START_FAILURES) return;
    this.brokenWarmClasses.add(warmClass);
    const outcome = outcomeOf(state);
    const errorTail = await readTail(worker.errorFile, 20);
    const reason =
      `${WARM_START_FAILURES} warm workers in a row ended before they took a job, the last ` +
      `(Slurm job ${worker.batchId}) ${outcome.reason ?? state.state}. ` +
      slurmOutputNote(worker, errorTail);
    report(
      this.host,
      'warning',
      'SLURM_WARM_WORKERS_FAILING',
      `${reason}\nJobs of this size run as one Slurm job each from now on.`,
      { batchId: worker.batchId, state: state.state },
      SOURCE,
    );
    for (const [id, attempt] of [...this.warmAttempts].filter(
      ([, a]) => a.warmClass === warmClass,
    )) {
      // Only attempts no worker claimed: a claimed one is reported by its worker's end.
      if (!(await this.takeFromInbox(id, attempt))) continue;
      this.warmAttempts.delete(id);
      this.finished.push({
        batchId: id,
        jobId: attempt.jobId,
        exitCode: outcome.exitCode || 1,
        failure: outcome.exitCode === 0 ? 'lost-node' : failureKindOf(state),
        reason,
      });
    }
  }

  /** Takes attempt `id` out of its class's inbox; false when a worker claimed it first. */
  private async takeFromInbox(id: string, attempt: WarmAttempt): Promise<boolean> {
    const file = join(
      this.warmRoot,
      attempt.warmClass,
      WARM_DIRS.inbox,
      warmInboxName(id, attempt.jobId),
    );
    return rm(file).then(
      () => true,
      () => false,
    );
  }

  /**
   * Withdraws warm attempts: unclaimed ones are taken out of the inbox; resolves to the Slurm
   * ids of the workers running the claimed ones.
   */
  private async withdrawWarm(ids: string[]): Promise<string[]> {
    const workers = new Set<string>();
    for (const id of ids) {
      const attempt = this.warmAttempts.get(id)!;
      const dir = join(this.warmRoot, attempt.warmClass);
      if (await this.takeFromInbox(id, attempt)) continue;
      for (const name of await readdir(join(dir, WARM_DIRS.running)).catch(() => [] as string[])) {
        const claim = parseWarmClaimName(name);
        if (claim?.attempt === id) workers.add(claim.worker);
      }
    }
    return [...workers].filter((id) => SLURM_JOB_ID.test(id));
  }

  /** Our jobs Slurm has not started yet, grouped by requirements. */
  private demand(): ResourceDemand[] {
    const pending = [...this.jobs.values()].filter(
      ({ queueState }) => queueState === undefined || queueState === 'PENDING',
    );
    return groupDemand(pending.map(({ job }) => job.requirements));
  }

  /**
   * The cluster's nodes from one `sinfo` (cores, memory, allocated cores, free memory); memory
   * unlimited with --slurmNoMem. A view read (or being read) less than {@link NODE_VIEW_REUSE_MS}
   * ago is answered again: the dispatcher's first check and the node display's first read
   * come together at the start.
   */
  private async nodes(): Promise<NodeView[]> {
    const now = Date.now();
    if (this.nodeView === undefined || now - this.nodeView.at >= NODE_VIEW_REUSE_MS) {
      const view = readSlurmNodes();
      this.nodeView = { view, at: now };
      // A failed read is not answered again.
      view.catch(() => {
        if (this.nodeView?.view === view) this.nodeView = undefined;
      });
    }
    const nodes = await this.nodeView.view;
    // With --slurmNoMem Slurm is not asked for memory, so no node's memory limits a job.
    if (!this.settings.noMem) return nodes;
    return nodes.map((node) => ({
      ...node,
      memory: Number.POSITIVE_INFINITY,
      free: { ...node.free, memory: Number.POSITIVE_INFINITY },
    }));
  }

  /**
   * Ids of our jobs still pending, running or completing (one `squeue` for all), or undefined
   * when the controller did not answer (tolerated for a while, with a warning).
   */
  private async squeue(): Promise<Map<string, string> | undefined> {
    const output = await this.slurm(
      ['squeue', '-h', '--me', '-o', '%A|%T'],
      'Polling the Slurm queue',
    );
    if (output.code === 0) {
      this.controllerDownSince = undefined;
      return parseSqueue(output.stdout);
    }
    const now = Date.now();
    this.controllerDownSince ??= now;
    if (now - this.controllerDownSince > CONTROLLER_PATIENCE * 1000)
      throw new ToilError(
        'BATCH_SYSTEM_UNAVAILABLE',
        `Slurm has not answered for ${CONTROLLER_PATIENCE} s: ${slurmMessage(output)}`,
        {
          hint: 'Check slurmctld; restart the workflow with --restart once it is back.',
        },
      );
    report(
      this.host,
      'warning',
      'SLURM_POLL_FAILED',
      `squeue failed (will retry): ${slurmMessage(output)}`,
      undefined,
      SOURCE,
    );
    return undefined;
  }

  /** Final states of jobs that left the queue: sacct first, scontrol for what it lacks. */
  private async finalStates(ids: string[]): Promise<Map<string, SlurmJobState>> {
    const states = new Map<string, SlurmJobState>();
    if (this.stateSource !== 'scontrol') {
      const completion = this.stateSource === 'sacct-completion';
      const output = await this.slurm(
        [
          'sacct',
          ...(completion ? ['-c'] : []),
          '-n',
          '-P',
          '-j',
          ids.join(','),
          '--format',
          SACCT_FORMAT,
          '-S',
          '1970-01-01',
        ],
        'Reading final job states (sacct)',
      );
      if (output.code === 0) {
        for (const [id, state] of parseSacct(output.stdout)) states.set(id, state);
      } else if (this.stateSource === 'auto') {
        // Accounting disabled (accounting_storage/none): stop asking sacct.
        this.stateSource = 'scontrol';
        report(
          this.host,
          'debug',
          'SLURM_SACCT_UNAVAILABLE',
          `sacct failed, using scontrol show job: ${slurmMessage(output)}`,
          undefined,
          SOURCE,
        );
      } else {
        report(
          this.host,
          'warning',
          'SLURM_SACCT_FAILED',
          `sacct failed (will retry): ${slurmMessage(output)}`,
          undefined,
          SOURCE,
        );
      }
    }
    const missing = ids.filter((id) => !TERMINAL_STATES.has(states.get(id)?.state ?? ''));
    if (missing.length > 0 && (this.stateSource === 'auto' || this.stateSource === 'scontrol')) {
      // One call for all jobs the controller still remembers, rather than one per job.
      const output = await this.slurm(
        ['scontrol', '-o', 'show', 'job'],
        'Reading final job states (scontrol)',
      );
      if (output.code === 0) {
        const known = parseScontrolJobs(output.stdout);
        for (const id of missing) {
          const state = known.get(id);
          if (state !== undefined) states.set(id, state);
        }
      } else {
        report(
          this.host,
          'warning',
          'SLURM_SCONTROL_FAILED',
          `scontrol show job failed (will retry): ${slurmMessage(output)}`,
          undefined,
          SOURCE,
        );
      }
    }
    return states;
  }

  /** Runs a Slurm command; a missing program is BATCH_SYSTEM_UNAVAILABLE. */
  private async slurm(argv: string[], what: string, input?: string): Promise<CommandOutput> {
    try {
      return await runCommand(argv, input === undefined ? {} : { input });
    } catch (error) {
      if (error instanceof CommandNotFoundError)
        throw new ToilError(
          'BATCH_SYSTEM_UNAVAILABLE',
          `${what} failed: ${argv[0]} is not installed or not on PATH.`,
          {
            hint: 'Run the workflow on a machine with the Slurm client commands (sbatch, squeue, sacct, scontrol, scancel), or choose another --batchSystem.',
            cause: error,
          },
        );
      throw error;
    }
  }
}

/** The failure kind of a Slurm job that did not succeed. */
export function failureKindOf(state: SlurmJobState): FailureKind {
  switch (state.state) {
    case 'TIMEOUT':
    case 'DEADLINE':
      return 'timeout';
    case 'OUT_OF_MEMORY':
      return 'out-of-memory';
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return 'lost-node';
    case 'CANCELLED':
    case 'PREEMPTED':
    case 'REVOKED':
      return 'killed';
    default:
      // A real signal (Slurm's own codes above the signal range are not signals).
      return state.signal > 0 && state.signal < 65 ? 'killed' : 'job-error';
  }
}

/**
 * The Slurm cluster's nodes from one `sinfo`: cores, memory, what is free, and on a launched
 * cluster with elastic node groups each node's instance type, group and state (`booting`,
 * `idle`, `busy`, `draining`, `down`, or `powered-down` for a cloud node not started). The
 * Slurm batch system's `scaling.nodes()` is this view.
 *
 * @throws ToilError `BATCH_SYSTEM_UNAVAILABLE` when sinfo is missing or fails.
 */
export async function readSlurmNodes(): Promise<NodeView[]> {
  let output: CommandOutput;
  try {
    output = await runCommand(['sinfo', '-h', '-N', '-o', SINFO_NODE_FORMAT]);
  } catch (error) {
    throw new ToilError('BATCH_SYSTEM_UNAVAILABLE', 'sinfo is not installed or not on PATH.', {
      hint: 'Run this on a machine with the Slurm client commands.',
      cause: error,
    });
  }
  if (output.code !== 0)
    throw new ToilError('BATCH_SYSTEM_UNAVAILABLE', `sinfo failed: ${slurmMessage(output)}`, {
      hint: 'Check that slurmctld is running and reachable (scontrol ping).',
    });
  return parseSinfoNodes(output.stdout);
}

/** The `sinfo -o` format {@link parseSinfoNodes} reads. */
export const SINFO_NODE_FORMAT = '%N|%c|%m|%C|%e|%d|%f|%t';

/**
 * What a Slurm node is doing, from sinfo's compact state (`%t`: `idle`, `mix`, `alloc`,
 * `drain`, `drng`, `down*`, `idle~` powered down, `idle#` powering up, `idle%` powering down…).
 */
export function slurmNodeActivity(compact: string): NodeActivity {
  const base = compact.replace(/[*~#%!$@^+-]+$/, '');
  if (/[*]/.test(compact) || ['down', 'fail', 'failg', 'boot_fail', 'inval'].includes(base))
    return 'down';
  if (compact.includes('#') || base === 'pow_up' || base === 'boot') return 'booting';
  if (compact.includes('%') || compact.includes('!') || base === 'powering_down')
    return 'powering-down';
  if (compact.includes('~') || base === 'powered_down') return 'powered-down';
  if (base === 'drain' || base === 'drng' || base === 'drained') return 'draining';
  if (base === 'mix' || base === 'alloc' || base === 'comp' || base === 'resv' || base === 'plnd')
    return 'busy';
  return 'idle';
}

/**
 * Parses `sinfo -h -N -o` {@link SINFO_NODE_FORMAT} (node, cpus, memory MB, allocated/idle/
 * other/total cpus, free memory MB, temporary disk MB, features, compact state; the last two
 * optional). A node listed in several partitions counts once. A node's type is its first
 * feature (launched clusters give elastic nodes their instance type, then `groupN`, then
 * `spot`), its group the `groupN` feature.
 */
export function parseSinfoNodes(output: string): NodeView[] {
  const nodes = new Map<string, NodeView>();
  const mb = 2 ** 20;
  for (const line of output.split('\n')) {
    const [id, cpus, memory, cpuStates, freeMemory, disk, featureText, state] = line
      .trim()
      .split('|');
    if (!id || nodes.has(id)) continue;
    const [allocated, idle] = (cpuStates ?? '').split('/').map(Number);
    const cores = Number(cpus);
    if (!Number.isFinite(cores) || cores <= 0) continue;
    const totalMemory = Number(memory) * mb;
    const free = Number(freeMemory);
    nodes.set(id, {
      id,
      cores,
      memory: totalMemory,
      disk: (Number(disk) || 0) * mb,
      free: {
        cores: Number.isFinite(idle) ? idle! : cores,
        memory: Number.isFinite(free) ? Math.min(totalMemory, free * mb) : totalMemory,
        disk: (Number(disk) || 0) * mb,
      },
      busy: Number.isFinite(allocated) && allocated! > 0,
      ...nodeKind(featureText, state),
    });
  }
  return [...nodes.values()];
}

function nodeKind(
  featureText: string | undefined,
  state: string | undefined,
): Pick<NodeView, 'type' | 'group' | 'state'> {
  const features = (featureText ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f && f !== '(null)');
  const group = features.find((f) => /^group\d+$/.test(f));
  const type = group === undefined ? undefined : features[0];
  return {
    ...(type === undefined ? {} : { type }),
    ...(group === undefined ? {} : { group }),
    ...(state ? { state: slurmNodeActivity(state.trim()) } : {}),
  };
}

function optionString(options: Record<string, unknown>, key: string): string | undefined {
  const value = options[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * One of `choices`: the program's own value (`given`), else `options[key]`, else `$envName`
 * (empty counts as unset), else `fallback`.
 *
 * @throws ToilError `INVALID_ARGUMENT` naming the value, the option, the variable and the choices.
 */
function choiceOption<T extends string>(
  options: Record<string, unknown>,
  spec: {
    given: T | undefined;
    key: string;
    envName: string;
    choices: readonly T[];
    fallback: T;
    /** What the value chooses, for the message. */
    what: string;
  },
): T {
  const { given, key, envName, choices, fallback, what } = spec;
  const value = given ?? optionString(options, key) ?? (process.env[envName] || fallback);
  if (!choices.includes(value as T))
    throw new ToilError('INVALID_ARGUMENT', `Unknown ${what} '${value}'.`, {
      hint: `Use one of: ${choices.join(', ')} (--${key} or $${envName}).`,
    });
  return value as T;
}

/**
 * A number option from `options[key]`, else `$envName`: seconds (positive) by default, or a
 * count (a whole number, 0 allowed).
 */
function numberOption(
  options: Record<string, unknown>,
  key: string,
  envName: string,
  kind: 'seconds' | 'count' = 'seconds',
): number | undefined {
  const raw = options[key] ?? process.env[envName];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  const ok = kind === 'count' ? Number.isInteger(value) && value >= 0 : value > 0;
  if (!ok || !Number.isFinite(value))
    throw new ToilError(
      'INVALID_ARGUMENT',
      kind === 'count'
        ? `${key} must be a whole number (0 for none), not '${String(raw)}'.`
        : `${key} must be a positive number of seconds, not '${String(raw)}'.`,
    );
  return value;
}

/**
 * Deletes a file; one that is already gone is no error. (`rm` with `force` looks at the path
 * before it unlinks it: a second system call for each of the files every job leaves.)
 */
async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** Waits for `promise` (which never rejects) until `deadline` (epoch milliseconds) at most. */
async function waitUntil(promise: Promise<unknown>, deadline: number): Promise<void> {
  const timer = new AbortController();
  await Promise.race([
    promise,
    sleep(Math.max(0, deadline - Date.now()), undefined, { signal: timer.signal }).catch(
      () => undefined,
    ),
  ]);
  timer.abort();
}

/**
 * The partitions (`%R`) in `sinfo`'s lines, each line's last `|`-separated field (or the whole
 * line), once each.
 */
function partitionsOf(stdout: string): string[] {
  const names = stdout.split('\n').map((line) => line.slice(line.lastIndexOf('|') + 1).trim());
  return [...new Set(names.filter(Boolean))];
}

/** The value of a JSON text; undefined for an empty or broken one. */
function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/** The last few hundred bytes of a file ('' when it cannot be read). */
async function readEnd(path: string, bytes = 512): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}

/** "Slurm output: OUT, ERR" of a job, then the last lines of its error file when there are any. */
function slurmOutputNote(tracked: TrackedJob, errorTail: string): string {
  return (
    `Slurm output: ${tracked.outputFile}, ${tracked.errorFile}` +
    (errorTail ? `\n${errorTail}` : '')
  );
}

async function readTail(path: string, lines: number): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Creates the Slurm batch system for a workflow leader (`--batchSystem slurm`): reads the Slurm
 * options from `context.options` and the environment and checks that the cluster answers.
 *
 * @throws ToilError `BATCH_SYSTEM_UNAVAILABLE` when Slurm cannot be reached,
 * `INVALID_ARGUMENT`/`INVALID_DURATION` for bad Slurm options.
 */
export async function createBatchSystem(
  context: BatchSystemContext<SlurmOptionValues | Record<string, unknown>>,
): Promise<SlurmBatchSystem> {
  const prestarted = context.prestarted instanceof SlurmPrestart ? context.prestarted : undefined;
  const adopted =
    prestarted?.batch.run === `${context.jobStoreLocator}\n${context.workflowId}`
      ? prestarted.batch
      : undefined;
  if (prestarted && !adopted) await prestarted.discard();
  const batchSystem = adopted ?? new SlurmBatchSystem(context);
  try {
    await batchSystem.start();
  } catch (error) {
    if (adopted) await adopted.shutdown().catch(() => undefined);
    throw error;
  }
  return batchSystem;
}

/** Warm workers {@link prestartSlurm} submitted, in the batch system that will adopt them. */
class SlurmPrestart implements Prestarted {
  constructor(readonly batch: SlurmBatchSystem) {}

  async discard(): Promise<void> {
    await this.batch.shutdown();
  }
}

/**
 * The plugin's `prestart`: with `--slurmWarmWorkers N`, submits the N warm workers for the
 * first job's requirements before the job store exists (see
 * {@link SlurmBatchSystem.prestartWarm}); undefined otherwise or when the options are bad
 * (the normal path reports them).
 */
export function prestartSlurm(
  context: PrestartContext<SlurmOptionValues | Record<string, unknown>>,
): Prestarted | undefined {
  try {
    const batch = new SlurmBatchSystem({
      ...context,
      maxCores: null,
      maxMemory: null,
      maxDisk: null,
    });
    const { jobStoreLocator: jobStore, workflow } = context;
    const env = context.workerEnvFor?.(batch.workerCommand) ?? context.workerEnv;
    return batch.prestartWarm(context.requirements, { jobStore, workflow }, env)
      ? new SlurmPrestart(batch)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The options `--batchSystem slurm` adds to a workflow's command line. */
export const SLURM_OPTIONS = {
  slurmPartition: {
    type: 'string',
    describe: 'Slurm partition to submit to (also $TOIL_SLURM_PARTITION).',
  },
  slurmTime: {
    type: 'string',
    describe:
      'Time limit of jobs that declare no runtime, e.g. 1h or 1-00:00:00 (also $TOIL_SLURM_TIME).',
    parse: (text: string, flag: string): number => parseDuration(text, flag),
  },
  slurmArgs: {
    type: 'string',
    describe: 'Extra sbatch arguments, e.g. "--qos=short" (also $TOIL_SLURM_ARGS).',
    parse: (text: string, flag: string): string => (parseSlurmArgs(text, flag), text),
  },
  slurmNoMem: { type: 'boolean', describe: 'Do not ask Slurm for memory (--mem).' },
  slurmPollInterval: {
    type: 'number',
    describe: 'Seconds between two looks at the queue (default 1; also $TOIL_SLURM_POLL_INTERVAL).',
  },
  slurmStateSource: {
    type: 'string',
    choices: STATE_SOURCES,
    describe:
      'Where final job states come from: auto (sacct, else scontrol), sacct, sacct-completion, scontrol.',
  },
  slurmLogDir: {
    type: 'string',
    describe:
      "Directory for the jobs' Slurm output files, existing on every node (default: WORKDIR).",
  },
  slurmWorkerCommand: {
    type: 'string',
    describe:
      "Command that starts a toil-ts worker on the nodes, e.g. 'toil-worker' or 'apptainer exec toil.sif toil-worker' (default: this machine's node and worker, for nodes with the same layout).",
    parse: (text: string, flag: string): string => (shellWords(text, flag), text),
  },
  slurmWarmWorkers: {
    type: 'number',
    describe:
      'Run small jobs in up to N long-running Slurm jobs (warm workers) that take many jobs each, instead of one Slurm job per job (default 0: off; also $TOIL_SLURM_WARM_WORKERS).',
  },
  slurmWarmIdle: {
    type: 'number',
    describe: 'Seconds a warm worker waits for work before it ends (default 30).',
  },
  slurmWarmLaunch: {
    type: 'string',
    choices: WARM_LAUNCHES,
    describe:
      "How warm workers start: srun (default: an interactive allocation, granted as soon as the resources are free) or sbatch (a batch job, started at the scheduler's next pass). Also $TOIL_SLURM_WARM_LAUNCH.",
  },
  slurmLaunch: {
    type: 'string',
    choices: ONE_SHOT_LAUNCHES,
    describe:
      "How one-shot jobs start: auto (default: a job the workflow waits on alone, such as its first job, with srun, which Slurm starts at once when the resources are free; the others with sbatch) or sbatch (every one a batch job, started at the scheduler's next pass). Also $TOIL_SLURM_LAUNCH.",
  },
  slurmCanGrow: {
    type: 'boolean',
    describe:
      'The cluster gets larger nodes on demand (power saving): jobs larger than every node wait instead of failing.',
  },
} as const;

/** The parsed {@link SLURM_OPTIONS}. */
export type SlurmOptionValues = OptionValues<typeof SLURM_OPTIONS>;

/** `--batchSystem slurm`: found by name as the package `@toil/batch-slurm`. */
export const batchSystem = defineBatchSystem({
  name: 'slurm',
  describe: 'Runs each job as one Slurm job (sbatch, squeue, sacct or scontrol, scancel)',
  options: SLURM_OPTIONS,
  create: createBatchSystem,
  prestart: prestartSlurm,
});
