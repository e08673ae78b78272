import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { text } from 'node:stream/consumers';
import type { NodeCost, NodeGroupCount } from '@toil/batch-system';
import { localNodeId } from '@toil/core';
import {
  epochSecondsNow,
  epochSecondsOf,
  type JobStore,
  type Outcome,
  type WorkflowConfig,
} from '@toil/jobstore';
import { totalCpuSeconds } from '../resources.js';
import type { LeaderEvents } from './events.js';
import type { GraphCounts } from './job-graph.js';

/**
 * What the leader keeps in the store's shared files for `toil status`, `toil kill` and
 * `toil stats`: the leader info (pid, machine, worker pids), the summary, the outcome and the
 * leader's stats record; and the job messages it relays.
 */
export class LeaderStatus {
  private readonly started = performance.now();
  private readonly cpuAtStart = totalCpuSeconds();
  private lastPids: string | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly config: WorkflowConfig,
    private readonly events: LeaderEvents,
  ) {}

  /** Writes the leader info when the worker pids changed (or always, with `force`). */
  async writeLeaderInfo(pids: number[], force: boolean): Promise<void> {
    const key = pids.join(',');
    if (!force && key === this.lastPids) return;
    this.lastPids = key;
    await this.store.setLeader({
      pid: process.pid,
      nodeId: localNodeId(),
      hostname: hostname(),
      startedAt: epochSecondsOf(new Date(performance.timeOrigin + this.started)),
      attempt: this.config.attempt,
      workerPids: pids.filter((p) => p > 0),
    });
  }

  /** Writes the summary `toil status` reads. */
  async writeSummary(
    counts: GraphCounts,
    running: number,
    nodes: NodeGroupCount[] | undefined,
    cost?: NodeCost,
  ): Promise<void> {
    await this.store.writeSummary({
      v: 1,
      updatedAt: epochSecondsNow(),
      attempt: this.config.attempt,
      unfinished: counts.unfinished,
      withChildren: counts.withChildren,
      withServices: 0,
      services: 0,
      totallyFailed: counts.totallyFailed,
      running,
      ready: counts.ready,
      completed: counts.completed,
      ...(nodes ? { nodes } : {}),
      ...(cost ? { cost } : {}),
    });
  }

  /** Records how the attempt ended. */
  async setOutcome(outcome: Omit<Outcome, 'attempt' | 'time'>): Promise<void> {
    await this.store.setOutcome({
      ...outcome,
      attempt: this.config.attempt,
      time: epochSecondsNow(),
    });
  }

  /** Appends the leader's stats record (wall and CPU time of this attempt), with `--stats`. */
  async appendLeaderStats(): Promise<void> {
    if (!this.config.stats) return;
    await this.store.appendStats({
      v: 1,
      kind: 'leader',
      time: epochSecondsNow(),
      attempt: this.config.attempt,
      totalTime: (performance.now() - this.started) / 1000,
      totalClock: Math.max(0, totalCpuSeconds() - this.cpuAtStart),
    });
  }

  /** Reports what jobs sent with `logToLeader` since the last call. */
  async relayMessages(): Promise<void> {
    for await (const record of this.store.readStats({ unreadOnly: true })) {
      if (record.kind !== 'worker') continue;
      for (const message of record.messages) {
        this.events.jobMessage(
          message.level,
          message.time ?? record.time,
          message.text,
          message.jobId,
        );
      }
    }
  }

  /** The last 30 lines of a stored job log, if it can be read. */
  async readLogTail(logFileId: string | undefined): Promise<string | undefined> {
    if (!logFileId) return undefined;
    try {
      const log = await text(await this.store.readFileStream(logFileId));
      return log.trimEnd().split('\n').slice(-30).join('\n');
    } catch {
      return undefined;
    }
  }
}
