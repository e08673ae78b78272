import { appendFileSync, readFileSync } from 'node:fs';
import type { NodeCost } from '@toil/batch-system';
import { countNodeCost, type NodeLifetime } from '../node-hours.js';

/**
 * The leader's node ledger: one JSON line per elastic node started or stopped, appended by the
 * power-saving programs (Slurm's user) and readable by everyone on the leader, so a run
 * (the login user, without cloud credentials) can show what its nodes cost. Holds no secret.
 */
export const LEDGER_PATH = '/var/lib/toil-ts/nodes.jsonl';

/** A node started: its instance, type and hourly price when it started. */
export interface LedgerStart {
  v: 1;
  event: 'start';
  /** The Slurm node name (`w0-1`). */
  node: string;
  /** The cloud's instance id. */
  instance: string;
  /** The instance type. */
  type: string;
  spot: boolean;
  /** When the instance was launched, epoch seconds. */
  time: number;
  /** Its hourly price from the cloud's API (spot: the spot price at its start), US dollars. */
  usdPerHour?: number;
  /** Why there is no price. */
  noPrice?: string;
}

/** A node's instance ended: terminated by the leader, or found gone (taken back). */
export interface LedgerStop {
  v: 1;
  event: 'stop';
  node: string;
  instance: string;
  /** When it ended (for a lost node: when Slurm marked it down), epoch seconds. */
  time: number;
  why: 'suspend' | 'resume-fail' | 'failed-start' | 'lost';
}

/** One line of the ledger. */
export type LedgerEntry = LedgerStart | LedgerStop;

/**
 * Appends entries to the ledger in one write (lines of a few hundred bytes: appends by
 * concurrent power-saving programs do not interleave).
 */
export function appendLedger(path: string, entries: readonly LedgerEntry[]): void {
  if (entries.length === 0) return;
  appendFileSync(path, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o644 });
}

/**
 * The ledger's entries, or undefined when there is no ledger (not the leader of a cluster
 * with elastic groups). A line that is not a valid entry (one being written) is skipped.
 */
export function readLedger(path: string = LEDGER_PATH): LedgerEntry[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const entries: LedgerEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const entry = JSON.parse(line) as LedgerEntry;
      if (
        entry?.v === 1 &&
        (entry.event === 'start' || entry.event === 'stop') &&
        typeof entry.instance === 'string' &&
        typeof entry.time === 'number'
      )
        entries.push(entry);
    } catch {
      // A line cut short by a concurrent append: the next read sees it whole.
    }
  }
  return entries;
}

/** The lives of the ledger's instances: each start with its first stop. */
export function ledgerLifetimes(entries: readonly LedgerEntry[]): NodeLifetime[] {
  const stops = new Map<string, number>();
  for (const e of entries)
    if (e.event === 'stop' && !stops.has(e.instance)) stops.set(e.instance, e.time);
  const seen = new Set<string>();
  const lives: NodeLifetime[] = [];
  for (const e of entries) {
    if (e.event !== 'start' || seen.has(e.instance)) continue;
    seen.add(e.instance);
    const ended = stops.get(e.instance);
    lives.push({
      nodeType: e.type,
      launched: e.time,
      spot: e.spot,
      ...(ended === undefined ? {} : { ended }),
      ...(e.usdPerHour === undefined ? {} : { usdPerHour: e.usdPerHour }),
      ...(e.noPrice === undefined ? {} : { noPrice: e.noPrice }),
    });
  }
  return lives;
}

/** Starts without a stop for these Slurm node names (instances the ledger thinks are up). */
export function openStarts(
  entries: readonly LedgerEntry[],
  names: ReadonlySet<string>,
): LedgerStart[] {
  const stopped = new Set(entries.filter((e) => e.event === 'stop').map((e) => e.instance));
  return entries.filter(
    (e): e is LedgerStart => e.event === 'start' && names.has(e.node) && !stopped.has(e.instance),
  );
}

/**
 * What the ledger's nodes cost between `since` and `now` (epoch seconds), or undefined when
 * there is no ledger or no node ran in that time.
 */
export function ledgerCost(path: string, since: number, now: number): NodeCost | undefined {
  const entries = readLedger(path);
  if (!entries) return undefined;
  const cost = countNodeCost(ledgerLifetimes(entries), now, since);
  return cost.byType.length > 0 ? cost : undefined;
}
