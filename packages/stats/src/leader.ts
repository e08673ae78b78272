import { readFileSync } from 'node:fs';
import { isProcessAlive, localNodeId, processStartTime } from '@toil/core';
import type { LeaderInfo, Outcome } from '@toil/jobstore';

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

/** Slack between a process's start time from /proc and the time it recorded itself. */
const START_TIME_TOLERANCE_MS = 2000;

/** A recorded time in milliseconds since the epoch, whether it was stored in s or ms. */
export function epochMillis(time: number): number {
  return time < 1e12 ? time * 1000 : time;
}

/**
 * True when `pid` is a running process: alive and not a zombie (an exited process whose parent
 * has not reaped it yet, e.g. a worker orphaned to an init that does not reap).
 */
export function isRunning(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * True when `pid` is alive and is the process that recorded itself at `recordedAt`: a process
 * that started after that moment has reused the pid and is someone else.
 */
export function isRecordedProcessAlive(pid: number, recordedAt: number): boolean {
  if (!isRunning(pid)) return false;
  const started = processStartTime(pid);
  return started === undefined || started <= epochMillis(recordedAt) + START_TIME_TOLERANCE_MS;
}

/** Classifies a recorded leader as seen from this machine (see {@link LeaderLiveness}). */
export function classifyLeader(leader: LeaderInfo | undefined): LeaderLiveness {
  if (!leader) return { kind: 'none' };
  if (leader.nodeId !== localNodeId()) return { kind: 'remote', leader };
  return isRecordedProcessAlive(leader.pid, leader.startedAt)
    ? { kind: 'local-alive', leader }
    : { kind: 'local-dead', leader };
}

/** The parent pid of a process from /proc (Linux), or undefined when it cannot be read. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
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

/** `2026-11-24T08:46:18Z` from a recorded time (s or ms). */
export function isoTime(time: number): string {
  return new Date(epochMillis(time)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
