import { ToilError, report, silentHost, type IoHost } from '@toil/core';
import type { JobStore, LeaderInfo } from '@toil/jobstore';
import { classifyLeader, currentOutcome } from './leader.js';
import { openStore, type UtilityOptions } from './open.js';

/** Options of {@link cleanJobStore}. */
export interface CleanOptions extends UtilityOptions {
  /** Delete even while the store's leader runs on this machine. */
  force?: boolean;
}

/** What `toil clean` did. */
export interface CleanResult {
  jobStore: string;
  /** False when there was no store (nothing was deleted; still a success). */
  existed: boolean;
  /** Files, records and objects removed. */
  deleted: number;
  /** What was removed, e.g. `directory /x` or `bucket name--toil`. */
  target: string;
  /** One sentence for people. */
  message: string;
}

async function readLeaderQuietly(store: JobStore, host: IoHost): Promise<LeaderInfo | undefined> {
  try {
    return await store.getLeader();
  } catch (error) {
    // A half-created or damaged store still gets deleted; say what could not be read.
    report(
      host,
      'warning',
      'CLEAN_STORE_DAMAGED',
      `Could not read the leader record of ${store.locator} (${(error as Error).message}); deleting the store anyway.`,
      undefined,
      'toil.clean',
    );
    return undefined;
  }
}

/**
 * Deletes a job store and everything in it (`toil clean`). Idempotent: a missing store is a
 * success with `existed: false`. Works on half-created and damaged stores. Refuses while the
 * store's leader is alive on this machine, unless `force`. Progress goes to `host` as spans.
 *
 * @throws ToilError `LEADER_ALIVE` when the leader runs here and `force` is not set.
 */
export async function cleanJobStore(
  locator: string,
  options: CleanOptions = {},
): Promise<CleanResult> {
  const host = options.host ?? silentHost;
  const store = await openStore(locator, host);
  try {
    if (!(await store.exists())) {
      return {
        jobStore: store.locator,
        existed: false,
        deleted: 0,
        target: '',
        message: `Nothing to delete: there is no job store at ${store.locator}.`,
      };
    }
    const leader = await readLeaderQuietly(store, host);
    const liveness = classifyLeader(leader);
    if (liveness.kind === 'local-alive') {
      const { pid, hostname } = liveness.leader;
      if (!options.force) {
        throw new ToilError(
          'LEADER_ALIVE',
          `The workflow in ${store.locator} is running: its leader is process ${pid} on this machine (${hostname}).`,
          {
            hint: `Stop it first with "toil kill ${store.locator}", or pass --force to delete the store under it.`,
            data: { pid, hostname },
          },
        );
      }
      report(
        host,
        'warning',
        'CLEAN_LEADER_ALIVE',
        `Deleting ${store.locator} while its leader (process ${pid}) runs, as --force asks; that run will fail.`,
        { pid },
        'toil.clean',
      );
    } else if (liveness.kind === 'remote') {
      let outcome;
      try {
        outcome = currentOutcome(await store.getOutcome(), liveness.leader);
      } catch {
        outcome = undefined;
      }
      if (!outcome) {
        report(
          host,
          'warning',
          'CLEAN_LEADER_REMOTE',
          `The leader of ${store.locator} is on ${liveness.leader.hostname}, which this machine cannot check; if it is still running, that run will fail.`,
          { hostname: liveness.leader.hostname },
          'toil.clean',
        );
      }
    }
    const destroyed = await store.destroy(host);
    return {
      jobStore: store.locator,
      existed: destroyed.existed,
      deleted: destroyed.deleted,
      target: destroyed.target,
      message: destroyed.existed
        ? `Deleted the job store ${store.locator} and everything in it (${destroyed.target}: ${destroyed.deleted} files or objects).`
        : `Nothing to delete: there is no job store at ${store.locator}.`,
    };
  } finally {
    await store.close();
  }
}
