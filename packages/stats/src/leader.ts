import {
  isProcessRunning as isRunning,
  isRecordedProcessAlive as isRecordedLocalProcessAlive,
  localNodeId,
  parentPid,
} from '@toil/core';
import type { EpochSeconds, LeaderInfo, Outcome } from '@toil/jobstore';

export type { EpochSeconds } from '@toil/jobstore';

// Kept as exports of @toil/stats, which published them before they moved to @toil/core.
export { isRunning, parentPid };

/**
 * What this machine can tell about a recorded leader:
 * - `none`: no leader was ever recorded;
 * - `local-alive`: it runs on this machine and its process is the recorded one;
 * - `local-dead`: it ran on this machine and that process is gone (its pid may be reused);
 * - `remote`: it runs (or ran) on another machine, whose processes we cannot see.
 */
export type LeaderLiveness =
  | { kind: 'none' }
  | { kind: 'local-alive'; leader: LeaderInfo }
  | { kind: 'local-dead'; leader: LeaderInfo }
  | { kind: 'remote'; leader: LeaderInfo };

declare const EPOCH_MILLIS: unique symbol;

/** A time in epoch milliseconds (JavaScript's `Date`). */
export type EpochMillis = number & { readonly [EPOCH_MILLIS]: true };

/** A stored time in epoch milliseconds. */
export function epochMillis(time: EpochSeconds): EpochMillis {
  return (time * 1000) as EpochMillis;
}

/**
 * True when `pid` is alive and is the process that recorded itself at `recordedAt` (epoch
 * seconds): a process that started after that moment has reused the pid and is someone else.
 */
export function isRecordedProcessAlive(pid: number, recordedAt: EpochSeconds): boolean {
  return isRecordedLocalProcessAlive(pid, epochMillis(recordedAt));
}

/** Classifies a recorded leader as seen from this machine (see {@link LeaderLiveness}). */
export function classifyLeader(leader: LeaderInfo | undefined): LeaderLiveness {
  if (!leader) return { kind: 'none' };
  if (leader.nodeId !== localNodeId()) return { kind: 'remote', leader };
  return isRecordedProcessAlive(leader.pid, leader.startedAt)
    ? { kind: 'local-alive', leader }
    : { kind: 'local-dead', leader };
}

/**
 * The outcome recorded for the leader's attempt, or undefined when the recorded outcome
 * belongs to an earlier attempt (a restart that has not finished yet).
 */
export function currentOutcome(
  outcome: Outcome | undefined,
  leader: LeaderInfo | undefined,
): Outcome | undefined {
  if (!outcome) return undefined;
  if (leader && outcome.attempt < leader.attempt) return undefined;
  return outcome;
}

/** `2026-11-24T08:46:18Z` from a recorded time (epoch seconds). */
export function isoTime(time: EpochSeconds): string {
  return new Date(epochMillis(time)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
