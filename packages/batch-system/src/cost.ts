/** What the nodes of one instance type and kind (spot or on demand) cost. */
export interface NodeTypeCost {
  /** The instance type / machine type. */
  type: string;
  /** Spot (AWS) or preemptible / spot (GCE) nodes. */
  spot: boolean;
  /** Node-hours counted. */
  hours: number;
  /**
   * US dollars for those hours at the cloud's prices; absent when the cloud's API gave no
   * price for the type (then {@link NodeTypeCost.noPrice} says why).
   */
  usd?: number;
  /** Why there is no price (`no price for t2.medium from the cloud's API: ...`). */
  noPrice?: string;
}

/**
 * The cost of cloud nodes at the hourly prices the cloud's API gave when they started: a
 * total of the priced ones and the detail per type. Never an invented number: a type without
 * a price is listed without one.
 */
export interface NodeCost {
  /** US dollars of every type with a price. */
  usd: number;
  /** Per type and kind, by hours (most first). */
  byType: NodeTypeCost[];
}

/**
 * Dollars for a person: cents from a cent up (`$0.42`), else two significant digits
 * (`$0.0000012`), so a tiny amount is not shown as `$0.00`.
 */
export function formatUsd(usd: number): string {
  if (usd >= 0.01 || usd <= 0) return `$${usd.toFixed(2)}`;
  return `$${usd.toFixed(Math.min(20, 1 - Math.floor(Math.log10(usd))))}`;
}

/** An hourly price: at most four significant digits (`$0.0464/h`, `$0.00001/h`). */
export function formatHourly(usdPerHour: number): string {
  const digits = Math.max(2, Math.min(20, 3 - Math.floor(Math.log10(usdPerHour))));
  let text = usdPerHour.toFixed(digits);
  while (text.endsWith('0') && text.length - text.indexOf('.') > 3) text = text.slice(0, -1);
  return `$${text}/h`;
}

/** ` (the reason)` when every type without a price has the same one. */
function whyNone(unpriced: readonly NodeTypeCost[]): string {
  const reasons = new Set(unpriced.map((t) => t.noPrice));
  const [reason] = reasons;
  return reasons.size === 1 && reason ? ` (${reason})` : '';
}

/**
 * `$0.0000012 (t2.medium spot 0.12 h at $0.00001/h)`, with the types the cloud gave no price
 * for after it (`; no price for t3.medium from the cloud's API`), or only those when none has
 * one. Empty for no nodes.
 */
export function describeNodeCost(cost: NodeCost): string {
  const priced = cost.byType.filter((t) => t.usd !== undefined && t.hours > 0);
  const unpriced = cost.byType.filter((t) => t.usd === undefined);
  const kind = (t: NodeTypeCost) => `${t.type}${t.spot ? ' spot' : ''}`;
  const parts: string[] = [];
  if (priced.length > 0)
    parts.push(
      `${formatUsd(cost.usd)} (${priced.map((t) => `${kind(t)} ${t.hours.toFixed(2)} h at ${formatHourly(t.usd! / t.hours)}`).join(', ')})`,
    );
  if (unpriced.length > 0)
    parts.push(
      `no price for ${unpriced.map(kind).join(', ')} from the cloud's API${whyNone(unpriced)}`,
    );
  return parts.join('; ');
}
