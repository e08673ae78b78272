import { describeNodeCost, type NodeCost, type NodeTypeCost } from '@toil/batch-system';
import type { NodeHours } from './contract.js';

/** One instance's life, as the cloud lists it (or the leader's node ledger records it). */
export interface NodeLifetime {
  /** The instance type / machine type. */
  nodeType: string;
  /** When it was launched, in epoch seconds. */
  launched: number;
  /** When it ended (terminated), in epoch seconds; undefined while it still runs. */
  ended?: number;
  /** A spot (preemptible) instance. */
  spot?: boolean;
  /** Its hourly price from the cloud's API when it started, US dollars. */
  usdPerHour?: number;
  /** Why there is no price (with `usdPerHour` absent). */
  noPrice?: string;
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

/**
 * What instances cost at their hourly prices, counted like {@link countNodeHours} and, with
 * `since`, only from then on (a run's share of nodes that started before it). Instances
 * without a price are listed by type without an amount; nothing is estimated.
 */
export function countNodeCost(
  lifetimes: readonly NodeLifetime[],
  now: number,
  since = 0,
): NodeCost {
  const byKey = new Map<string, NodeTypeCost>();
  let usd = 0;
  for (const life of lifetimes) {
    if (!(life.launched > 0)) continue;
    const end = Math.min(life.ended ?? now, now);
    const start = Math.max(life.launched, since);
    if (end < start || (end === start && since > life.launched)) continue;
    const hours = (end - start) / 3600;
    const spot = life.spot ?? false;
    const priced = life.usdPerHour !== undefined;
    const key = `${life.nodeType}\0${spot}\0${priced}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = {
        type: life.nodeType,
        spot,
        hours: 0,
        ...(priced ? { usd: 0 } : life.noPrice ? { noPrice: life.noPrice } : {}),
      };
      byKey.set(key, entry);
    }
    entry.hours += hours;
    if (priced) {
      entry.usd! += hours * life.usdPerHour!;
      usd += hours * life.usdPerHour!;
    }
  }
  return {
    usd,
    byType: [...byKey.values()].sort((a, b) => b.hours - a.hours || a.type.localeCompare(b.type)),
  };
}

/** `3.25 node-hours over 4 instances (t3.medium 2.15, c5.large 1.10)`. */
export function describeNodeHours(hours: NodeHours): string {
  const types = Object.entries(hours.byType)
    .sort(([, a], [, b]) => b - a)
    .map(([type, h]) => `${type} ${h.toFixed(2)}`)
    .join(', ');
  return `${hours.total.toFixed(2)} node-hours over ${hours.nodes} instance${hours.nodes === 1 ? '' : 's'}${types ? ` (${types})` : ''}`;
}

/**
 * `$0.42 at the cloud's prices (t3.medium 2.00 h at $0.0416/h, …)`, followed by the types the
 * cloud's API gave no price for (`; no price for t3.medium from the cloud's API (why)`), or
 * only those.
 */
export function describeClusterCost(cost: NodeCost): string {
  const text = describeNodeCost(cost);
  return cost.byType.some((t) => t.usd !== undefined)
    ? text.replace(/^(\$[\d.]+) /, "$1 at the cloud's prices ")
    : text;
}
