import { ToilError, report, silentHost } from '@toil/core';
import { epochSecondsNow, type LeaderInfo, type Outcome } from '@toil/jobstore';
import {
  classifyLeader,
  currentOutcome,
  isRecordedProcessAlive,
  isRunning,
  isoTime,
  parentPid,
} from './leader.js';
import { withExistingStore, type UtilityOptions } from './open.js';

/** Options of {@link killWorkflow}. */
export interface KillOptions extends UtilityOptions {
  /** SIGKILL instead of SIGTERM (and kill the leader's workers too, which would be orphaned). */
  force?: boolean;
  /** How long to wait for the leader and its workers to be gone. Default 30 000 ms. */
  timeoutMs?: number;
}

/**
 * What `toil kill` did:
 * - `stopped`: the leader ran here, was signalled, and it and its workers are gone;
 * - `flagged`: the kill flag was set for a leader this machine cannot signal;
 * - `not-running`: no leader is running (never started, or its process is gone);
 * - `finished`: the workflow's last run already ended (succeeded, failed or killed).
 */
export interface KillResult {
  jobStore: string;
  action: 'stopped' | 'flagged' | 'not-running' | 'finished';
  message: string;
  leader?: LeaderInfo;
  signal?: 'SIGTERM' | 'SIGKILL';
  /** Worker pids that were running when the leader was signalled, all gone now. */
  stoppedWorkerPids: number[];
  /** Batch-system ids the leader reported killing (from its recorded outcome). */
  killedBatchIds: string[];
  /** Seconds from the signal until everything was gone. */
  waitedSeconds?: number;
  outcome?: Outcome;
}

const POLL_MS = 100;

function liveWorkers(leader: LeaderInfo): number[] {
  // Only processes whose parent is still the leader: a recycled pid belongs to someone else.
  return (leader.workerPids ?? []).filter((pid) => isRunning(pid) && parentPid(pid) === leader.pid);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Stops a workflow (`toil kill`). When its leader runs on this machine, sends it SIGTERM
 * (`force`: SIGKILL, and SIGKILL to its workers) and waits, bounded by `timeoutMs`, until the
 * leader and its workers are gone. Otherwise, or when the signal cannot be sent, sets the job
 * store's kill flag, which the leader polls every second.
 *
 * @throws ToilError `JOBSTORE_NOT_FOUND` when there is no store; `KILL_INCOMPLETE` when the
 *   leader or a worker is still running after `timeoutMs`.
 */
export async function killWorkflow(
  locator: string,
  options: KillOptions = {},
): Promise<KillResult> {
  const host = options.host ?? silentHost;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return withExistingStore(locator, host, async (store) => {
    await store.resume();
    const leader = await store.getLeader();
    const liveness = classifyLeader(leader);
    const outcome = currentOutcome(await store.getOutcome(), leader);
    const base = { jobStore: store.locator, stoppedWorkerPids: [], killedBatchIds: [] };

    const setFlag = async (leaderInfo: LeaderInfo, why: string): Promise<KillResult> => {
      await store.setKillFlag(true);
      return {
        ...base,
        action: 'flagged',
        leader: leaderInfo,
        message:
          `${why} Set the kill flag in ${store.locator}: the leader checks it every second and ` +
          'stops itself; `toil status` tells when it has.',
      };
    };

    if (liveness.kind === 'none') {
      return {
        ...base,
        action: outcome ? 'finished' : 'not-running',
        message: `No leader has run the workflow in ${store.locator}; there is nothing to kill.`,
      };
    }
    const recorded = liveness.leader;
    // The run ended: a leader that is not running here has nothing left to kill.
    if (outcome && liveness.kind !== 'local-alive') {
      return {
        ...base,
        action: 'finished',
        leader: recorded,
        outcome,
        message: `The workflow in ${store.locator} already ended (${outcome.result}, attempt ${outcome.attempt}, ${isoTime(outcome.time)}); there is nothing to kill.`,
      };
    }
    if (liveness.kind === 'remote') {
      return setFlag(
        recorded,
        `The leader is process ${recorded.pid} on ${recorded.hostname}, another machine.`,
      );
    }
    if (liveness.kind === 'local-dead') {
      return {
        ...base,
        action: 'not-running',
        leader: recorded,
        message:
          `The leader of ${store.locator} (process ${recorded.pid}) is no longer running and did not ` +
          'record how its run ended; there is nothing to kill. Resume the workflow with --restart.',
      };
    }

    const signal = options.force ? 'SIGKILL' : 'SIGTERM';
    const workers = liveWorkers(recorded);
    const started = Date.now();
    try {
      process.kill(recorded.pid, signal);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      report(
        host,
        'warning',
        'KILL_SIGNAL_FAILED',
        `Could not send ${signal} to the leader (process ${recorded.pid}): ${code}.`,
        { pid: recorded.pid, code },
        'toil.kill',
      );
      return setFlag(recorded, `Could not signal the leader (process ${recorded.pid}: ${code}).`);
    }
    report(
      host,
      'info',
      'KILL_SIGNALLED',
      `Sent ${signal} to the leader, process ${recorded.pid}; waiting for it and ${plural(workers.length, 'worker')} to exit.`,
      { pid: recorded.pid, signal, workers },
      'toil.kill',
    );
    if (options.force) {
      // SIGKILL gives the leader no chance to stop its workers; without this they would run on.
      for (const pid of workers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }

    const deadline = started + timeoutMs;
    let remaining: number[];
    for (;;) {
      const leaderAlive = isRecordedProcessAlive(recorded.pid, recorded.startedAt);
      remaining = workers.filter((pid) => isRunning(pid));
      if (!leaderAlive && remaining.length === 0) break;
      if (Date.now() >= deadline) {
        const still = [
          ...(leaderAlive ? [`the leader (process ${recorded.pid})`] : []),
          ...(remaining.length ? [`workers ${remaining.join(', ')}`] : []),
        ];
        throw new ToilError(
          'KILL_INCOMPLETE',
          `Sent ${signal} to the workflow in ${store.locator}, but after ${Math.round(timeoutMs / 1000)} s ${still.join(' and ')} still run.`,
          {
            hint: options.force
              ? 'Check the processes with `ps`; something is holding them (e.g. uninterruptible I/O).'
              : `Run "toil kill --force ${store.locator}" to send SIGKILL.`,
            data: { pid: recorded.pid, remainingWorkers: remaining, leaderAlive },
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const waitedSeconds = (Date.now() - started) / 1000;

    let finalOutcome = currentOutcome(await store.getOutcome(), recorded);
    if (!finalOutcome && options.force) {
      // A SIGKILLed leader cannot record its end; record it so status says "killed".
      finalOutcome = {
        result: 'killed',
        attempt: recorded.attempt,
        time: epochSecondsNow(),
        failedJobs: [],
      };
      await store.setOutcome(finalOutcome);
    }
    const killedBatchIds = finalOutcome?.killedBatchIds ?? [];
    const parts = [
      `Stopped the workflow in ${store.locator}: the leader (process ${recorded.pid}, ${signal})`,
      workers.length > 0 ? ` and ${plural(workers.length, 'worker')} (${workers.join(', ')})` : '',
      ` exited within ${waitedSeconds.toFixed(1)} s.`,
      killedBatchIds.length > 0
        ? ` The leader killed ${plural(killedBatchIds.length, 'batch job')}: ${killedBatchIds.join(', ')}.`
        : '',
      ' Resume it with --restart.',
    ];
    return {
      ...base,
      action: 'stopped',
      leader: recorded,
      signal,
      stoppedWorkerPids: workers,
      killedBatchIds,
      waitedSeconds,
      ...(finalOutcome ? { outcome: finalOutcome } : {}),
      message: parts.join(''),
    };
  });
}
