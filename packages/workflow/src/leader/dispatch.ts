import { ToilError } from '@toil/core';
import type { BatchSystem, JobInvocation, NodeView } from '@toil/batch-system';
import type { JobWrite, Requirements } from '@toil/jobstore';
import type { LocalIssue } from '../single-machine.js';
import { toRunning, withBatchId } from '../running-record.js';
import { workerCaEnvironment } from '../extra-ca.js';
import type { BackgroundCommits } from './commits.js';
import { formatBytes, type LeaderEvents } from './events.js';
import type { GraphJob, JobGraph } from './job-graph.js';

/**
 * Most jobs issued to the batch system and not yet finished. Enough to keep a pool or a Slurm
 * queue busy; larger only costs leader memory (queued records, their `running` commits).
 */
export const MAX_IN_FLIGHT = 2000;

/** Resource limits the leader schedules within (Infinity: unlimited). */
export interface LeaderLimits {
  cores: number;
  memory: number;
  disk: number;
}

/** What {@link Dispatcher} needs. */
export interface DispatchContext {
  graph: JobGraph;
  batchSystem: BatchSystem;
  commits: BackgroundCommits;
  events: LeaderEvents;
  limits: LeaderLimits;
  /** What to run for a job. */
  invocation: (jobId: string) => JobInvocation;
}

/** The error for a job larger than the workflow may use. */
function tooLarge(job: GraphJob, limits: LeaderLimits): ToilError {
  const r: Requirements = job.requirements;
  const over = [
    r.cores > limits.cores ? `${r.cores} cores (max ${limits.cores})` : '',
    r.memory > limits.memory
      ? `${formatBytes(r.memory)} of memory (max ${formatBytes(limits.memory)})`
      : '',
    r.disk > limits.disk ? `${formatBytes(r.disk)} of disk (max ${formatBytes(limits.disk)})` : '',
  ].filter(Boolean);
  return new ToilError(
    'JOB_TOO_LARGE',
    `Job '${job.name}' (${job.id}) asks for ${over.join(', ')}, more than this workflow may use.`,
    {
      hint: 'Give the job smaller requirements, or raise --maxCores / --maxMemory / --maxDisk (the store is kept: rerun with --restart).',
      data: { jobId: job.id, job: job.name },
    },
  );
}

/** How long the batch system's node view is trusted before a job that fits no node asks again. */
const NODE_VIEW_TTL_MS = 30_000;

/** True when `node` has room for `r` when empty (a node that reports no disk size limits none). */
function nodeFits(node: NodeView, r: Requirements): boolean {
  return (
    node.cores + 1e-9 >= r.cores &&
    node.memory >= r.memory &&
    (node.disk <= 0 || node.disk >= r.disk)
  );
}

/** The largest nodes, for messages: `4 cores, 15.6 Gi` (the most cores, the most memory). */
function largestNode(nodes: readonly NodeView[]): string {
  if (nodes.length === 0) return 'no nodes';
  const cores = Math.max(...nodes.map((n) => n.cores));
  const memory = Math.max(...nodes.map((n) => n.memory));
  const types = [
    ...new Set(
      nodes
        .filter((n) => n.type !== undefined && (n.cores === cores || n.memory === memory))
        .map((n) => n.type!),
    ),
  ];
  return `largest: ${cores} cores, ${formatBytes(memory)} of memory${types.length > 0 ? `, node type ${types.join(', ')}` : ''}`;
}

/** The error for a job bigger than every node of a batch system that cannot grow. */
function fitsNoNode(
  job: GraphJob,
  batchSystem: BatchSystem,
  nodes: readonly NodeView[],
): ToilError {
  const r = job.requirements;
  return new ToilError(
    'JOB_TOO_LARGE',
    `Job '${job.name}' (${job.id}) asks for ${r.cores} cores and ${formatBytes(r.memory)} of memory, more than any node of the ${batchSystem.name} batch system has (${largestNode(nodes)}).`,
    {
      hint: 'Give the job smaller requirements, or use a cluster that gets larger nodes on demand and tell the batch system so (e.g. --slurmCanGrow); the store is kept: rerun with --restart.',
      data: { jobId: job.id, job: job.name },
    },
  );
}

/**
 * Hands ready jobs to the batch system within the workflow's limits and the in-flight cap,
 * records each issued job as `running` with its batch id, and maps batch ids back to jobs.
 */
export class Dispatcher {
  /** Batch id → job id of the attempts issued and not yet reported finished. */
  private readonly issued = new Map<string, string>();
  /** The batch system's nodes (its `scaling` view) and when they were read. */
  private nodes: { view: NodeView[]; at: number } | undefined;
  /** Jobs already reported as waiting for a node that fits. */
  private readonly waitingForNode = new Set<string>();

  constructor(private readonly c: DispatchContext) {}

  /** Number of attempts issued and not yet finished. */
  get size(): number {
    return this.issued.size;
  }

  /** Job ids of the attempts issued and not yet finished. */
  jobIds(): IterableIterator<string> {
    return this.issued.values();
  }

  /** Tracks an attempt the leader did not issue itself (e.g. started by the batch system). */
  track(batchId: string, jobId: string): void {
    this.issued.set(batchId, jobId);
  }

  /** The job of a finished attempt (`fallback` for an id the leader did not issue), untracked. */
  finished(batchId: string, fallback: string): string {
    const id = this.issued.get(batchId) ?? fallback;
    this.issued.delete(batchId);
    return id;
  }

  /** Forgets every attempt (the batch system was shut down). */
  clear(): void {
    this.issued.clear();
  }

  /**
   * Issues ready jobs until none is left or the in-flight cap is reached; returns how many.
   *
   * @throws ToilError `JOB_TOO_LARGE` for a job larger than the workflow's limits.
   */
  async issueReady(): Promise<number> {
    // Records of the jobs issued in this pass, state `running` with their batch ids.
    const running: JobWrite[] = [];
    try {
      return await this.issueRecording(running);
    } finally {
      // A batch system that starts attempts only after this pass gets one commit for all of
      // them; it is called before any attempt starts, so the store orders it before anything
      // the workers write.
      this.c.commits.commit(running);
    }
  }

  /**
   * A job bigger than every node of the batch system (its `scaling` view): fails the run
   * unless the batch system can grow, in which case the job is issued and waits in its queue
   * for a node that fits (its demand shows it), reported once.
   *
   * @throws ToilError `JOB_TOO_LARGE` when no node fits and the batch system cannot grow.
   */
  private async checkNodes(job: GraphJob): Promise<void> {
    const scaling = this.c.batchSystem.scaling;
    if (!scaling) return;
    const r = job.requirements;
    const fits = (view: NodeView[]) => view.some((node) => nodeFits(node, r));
    const now = Date.now();
    if (this.nodes === undefined) this.nodes = { view: await scaling.nodes(), at: now };
    if (fits(this.nodes.view)) return;
    // A node may have joined since the view was read.
    if (now - this.nodes.at >= NODE_VIEW_TTL_MS) {
      this.nodes = { view: await scaling.nodes(), at: now };
      if (fits(this.nodes.view)) return;
    }
    if (!scaling.canGrow) throw fitsNoNode(job, this.c.batchSystem, this.nodes.view);
    if (this.waitingForNode.has(job.id)) return;
    this.waitingForNode.add(job.id);
    this.c.events.jobWaitsForNode(job, r, largestNode(this.nodes.view));
  }

  private async issueRecording(running: JobWrite[]): Promise<number> {
    const { graph, batchSystem, limits, commits } = this.c;
    let count = 0;
    for (;;) {
      const job = graph.peekReady();
      if (!job) return count;
      const r = job.requirements;
      if (r.cores > limits.cores || r.memory > limits.memory || r.disk > limits.disk) {
        throw tooLarge(job, limits);
      }
      // The batch system runs issued jobs within the limits; the cap bounds its queue.
      if (this.issued.size >= MAX_IN_FLIGHT) return count;
      await this.checkNodes(job);
      graph.take();
      const record = job.recordJson === undefined ? undefined : toRunning(job.recordJson);
      job.recordJson = undefined;
      const batchId = await batchSystem.issue({
        jobId: job.id,
        name: job.name,
        requirements: r,
        invocation: this.c.invocation(job.id),
        // The engine's own pool workers get it when they start (and keep the user's for jobs).
        env: batchSystem.local ? {} : workerCaEnvironment(batchSystem.workerCommand),
        ...(batchSystem.local
          ? { local: { recordJson: record && JSON.stringify(record) } satisfies LocalIssue }
          : {}),
      });
      this.issued.set(batchId, job.id);
      count++;
      if (record) {
        running.push({ op: 'put', record: withBatchId(record, batchId) });
        // The attempt may already run: record it now, before its worker can write (concurrent
        // commits share one fsync).
        if (!batchSystem.local?.startsAfterIssuing) commits.commit(running.splice(0));
      }
      this.c.events.jobIssued(job, batchId, r);
    }
  }
}
