import type { NodeHours } from './contract.js';

/** One instance's life, as the cloud lists it. */
export interface NodeLifetime {
  /** The instance type / machine type. */
  nodeType: string;
  /** When it was launched, in epoch seconds. */
  launched: number;
  /** When it ended (terminated), in epoch seconds; undefined while it still runs. */
  ended?: number;
}

/**
 * Adds up the hours instances ran, in total and by type: a running instance counts until
 * `now` (epoch seconds), a terminated one until it ended. An instance without a launch time
 * (0) counts nothing.
 */
export function countNodeHours(lifetimes: readonly NodeLifetime[], now: number): NodeHours {
  const byType: Record<string, number> = {};
  let total = 0;
  let nodes = 0;
  for (const life of lifetimes) {
    if (!(life.launched > 0)) continue;
    const hours = Math.max(0, (life.ended ?? now) - life.launched) / 3600;
    byType[life.nodeType] = (byType[life.nodeType] ?? 0) + hours;
    total += hours;
    nodes++;
  }
  return { total, nodes, byType };
}

/** `3.25 node-hours over 4 instances (t3.medium 2.15, c5.large 1.10)`. */
export function describeNodeHours(hours: NodeHours): string {
  const types = Object.entries(hours.byType)
    .sort(([, a], [, b]) => b - a)
    .map(([type, h]) => `${type} ${h.toFixed(2)}`)
    .join(', ');
  return `${hours.total.toFixed(2)} node-hours over ${hours.nodes} instance${hours.nodes === 1 ? '' : 's'}${types ? ` (${types})` : ''}`;
}
