import { ToilError } from '@toil/core';
import './errors.js';

/**
 * One entry of `--nodeTypes`: the instance types that may serve it (`c5.large/c5a.large`)
 * and the spot bid (USD per hour) that makes it preemptible.
 */
export interface WorkerNodeType {
  /** Instance type names, in the order given; at least one. */
  instanceTypes: string[];
  /** Spot bid; absent for on-demand nodes. */
  spotBid?: number;
}

/** One entry of `-w/--workers`: a fixed count, or a `min-max` range (an elastic group). */
export type WorkerCount = { fixed: number } | { min: number; max: number };

/** A node type paired with its count, as the cluster spec holds it. */
export interface WorkerGroup extends WorkerNodeType {
  count: number;
}

const nodeTypeError = (message: string, spec: string): ToilError =>
  new ToilError('NODE_TYPE_INVALID', message, {
    hint: 'Write node types as TYPE[/TYPE...][:BID], comma-separated, e.g. c5.large/c5a.large:0.2,m5.xlarge.',
    data: { spec },
  });

/**
 * Parses one node type with an optional spot bid: `t2.micro`, `t2.micro:0.5`,
 * `c5.large/c5a.large:0.2`. Spaces inside names are kept (as Toil does); names are not
 * checked against a cloud here (the provisioner does that).
 *
 * @throws ToilError `NODE_TYPE_INVALID` for an empty type, more than one bid, or a bid that
 *   is not a positive number.
 */
export function parseNodeType(spec: string): WorkerNodeType {
  const parts = spec.split(':');
  if (parts.length > 2)
    throw nodeTypeError(`Could not parse node type "${spec}": multiple bids.`, spec);
  const instanceTypes = parts[0]!.split('/');
  if (instanceTypes.some((t) => t.trim() === ''))
    throw nodeTypeError(`Could not parse node type "${spec}": empty instance type.`, spec);
  if (parts.length === 1) return { instanceTypes };
  const bidText = parts[1]!.trim();
  const bid = /^(\d+(\.\d*)?|\.\d+)$/.test(bidText) ? Number(bidText) : NaN;
  if (bidText === '')
    throw nodeTypeError(
      `Could not parse node type "${spec}": the spot bid after ':' is empty.`,
      spec,
    );
  if (!Number.isFinite(bid))
    throw nodeTypeError(
      `Could not parse node type "${spec}": the spot bid "${bidText}" is not a number.`,
      spec,
    );
  if (bid <= 0)
    throw nodeTypeError(
      `Could not parse node type "${spec}": the spot bid must be more than 0.`,
      spec,
    );
  return { instanceTypes, spotBid: bid };
}

/**
 * Parses `--nodeTypes`: comma-separated {@link parseNodeType} entries. `undefined` and `''`
 * give no node types; duplicates are kept (each pairs with its own `-w` count).
 */
export function parseNodeTypes(spec: string | undefined): WorkerNodeType[] {
  if (spec === undefined || spec === '') return [];
  return spec.split(',').map(parseNodeType);
}

/**
 * Parses `-w/--workers`: comma-separated counts, each `N` or `A-B` (a range; `4-0` is the
 * same as `0-4`).
 *
 * @throws ToilError `NODE_TYPE_INVALID` for anything that is not a count or a range
 *   (`Unacceptable range: 1-2-3`, as Toil says).
 */
export function parseWorkerCounts(spec: string | undefined): WorkerCount[] {
  if (spec === undefined || spec === '') return [];
  return spec.split(',').map((part) => {
    const text = part.trim();
    if (/^\d+$/.test(text)) return { fixed: Number(text) };
    const range = /^(\d+)-(\d+)$/.exec(text);
    if (range) {
      const a = Number(range[1]);
      const b = Number(range[2]);
      return { min: Math.min(a, b), max: Math.max(a, b) };
    }
    throw new ToilError(
      'NODE_TYPE_INVALID',
      text.includes('-') ? `Unacceptable range: ${text}` : `Unacceptable worker count: "${text}"`,
      {
        hint: 'Write -w as comma-separated counts (N) or ranges (MIN-MAX), one per node type, e.g. -w 2,0-4.',
        data: { spec },
      },
    );
  });
}

/**
 * An elastic node group (`-w MIN-MAX`): between `min` and `max` nodes of one node type, grown
 * and shrunk by Slurm's power saving on the cluster (cloud nodes the controller resumes when
 * jobs wait and suspends when they sit idle).
 */
export interface ElasticGroup extends WorkerNodeType {
  min: number;
  max: number;
}

/** The worker groups of a launch: fixed counts, and elastic ranges. */
export interface NodeGroups {
  /** Groups started at launch with a fixed count (count 0 groups are dropped). */
  workers: WorkerGroup[];
  /** Groups that grow and shrink (ranges with a maximum above 0). */
  elastic: ElasticGroup[];
}

/**
 * Pairs `--nodeTypes` with `-w` the way Toil's launch-cluster does: `N` is a fixed group
 * (skipped when 0), `A-B` an {@link ElasticGroup} (skipped when its maximum is 0).
 *
 * @throws ToilError `NODE_TYPE_INVALID` when only one of the two is given or their lengths
 *   differ.
 */
export function pairNodeGroups(
  nodeTypes: string | undefined,
  workers: string | undefined,
): NodeGroups {
  const types = parseNodeTypes(nodeTypes);
  const counts = parseWorkerCounts(workers);
  const hint =
    'Give one -w count per --nodeTypes entry, e.g. --nodeTypes t3.large,t3.small:0.1 -w 2,0-4.';
  if ((types.length === 0) !== (counts.length === 0))
    throw new ToilError(
      'NODE_TYPE_INVALID',
      'The --nodeTypes option requires --workers, and vice versa.',
      { hint },
    );
  if (types.length !== counts.length)
    throw new ToilError(
      'NODE_TYPE_INVALID',
      `List of worker count ranges must be the same length as the list of node types (${counts.length} counts, ${types.length} node types).`,
      { hint },
    );
  const groups: NodeGroups = { workers: [], elastic: [] };
  types.forEach((type, i) => {
    const count = counts[i]!;
    if ('fixed' in count) {
      if (count.fixed > 0) groups.workers.push({ ...type, count: count.fixed });
    } else if (count.max > 0) groups.elastic.push({ ...type, min: count.min, max: count.max });
  });
  return groups;
}

/** Writes a node type back in `--nodeTypes` form: `c5.large/c5a.large:0.2`. */
export function formatNodeType(type: WorkerNodeType): string {
  const names = type.instanceTypes.join('/');
  return type.spotBid === undefined ? names : `${names}:${type.spotBid}`;
}
