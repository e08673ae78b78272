import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  countNodes,
  describeNodeCost,
  type NodeCost,
  type NodeGroupCount,
  type ScalingCapability,
} from '@toil/batch-system';
import type { NodeLifetime } from '@toil/provisioner';

/** The nodes are read at most this often (milliseconds). */
const READ_EVERY_MS = 5000;

/**
 * Where a launched cluster's leader keeps its node ledger: `LEDGER_PATH` of @toil/provisioner,
 * repeated so the leader loads that package only on a cluster's leader.
 */
const LEDGER_PATH = '/var/lib/toil-ts/nodes.jsonl';

/** Options of a {@link NodeWatch}. */
export interface NodeWatchOptions {
  /** The node ledger to read the cost accrued from (default: the leader's, when present). */
  ledgerPath?: string;
  /** The run's start, epoch seconds (default: when the watch is made). */
  since?: number;
}

/**
 * The batch system's nodes by type and state, for the progress display and `toil status`:
 * read in the background at most every 5 s so the leader's loop never waits for it, and shown
 * only for a cluster (a batch system that can grow, has more than one node, or types its nodes:
 * an elastic node group of one). On a launched cluster's leader it also reads the node ledger
 * the power-saving programs keep, for what the elastic nodes cost since the run started.
 */
export class NodeWatch {
  private counts: NodeGroupCount[] | undefined;
  private key = '';
  private costKey = '';
  private changed = false;
  private reading = false;
  private lastRead = -Infinity;
  private cluster: boolean | undefined;
  private lifetimes: NodeLifetime[] | undefined;
  private readonly ledgerPath: string;
  private readonly since: number;

  constructor(
    private readonly scaling: ScalingCapability | undefined,
    options: NodeWatchOptions = {},
  ) {
    this.ledgerPath = options.ledgerPath ?? LEDGER_PATH;
    this.since = options.since ?? Date.now() / 1000;
  }

  /** The counts of the last read (undefined: nothing to show); starts the next read when due. */
  current(): NodeGroupCount[] | undefined {
    const now = performance.now();
    if (
      this.scaling &&
      this.cluster !== false &&
      !this.reading &&
      now - this.lastRead >= READ_EVERY_MS
    ) {
      this.reading = true;
      this.lastRead = now;
      const scaling = this.scaling;
      Promise.all([scaling.nodes(), this.readLedger().catch(() => undefined)]).then(
        ([nodes]) => {
          this.reading = false;
          this.cluster ??=
            scaling.canGrow || nodes.length > 1 || nodes.some((n) => n.type !== undefined);
          if (!this.cluster) return;
          const counts = countNodes(nodes);
          const key = JSON.stringify(counts);
          if (key !== this.key) [this.key, this.counts, this.changed] = [key, counts, true];
          const costKey = this.costKey;
          const cost = this.cost();
          this.costKey = cost ? describeNodeCost(cost) : '';
          if (this.costKey !== costKey) this.changed = true;
        },
        // Only a display: a failed read (a controller restarting) shows the last counts.
        () => (this.reading = false),
      );
    }
    return this.counts;
  }

  /**
   * What the cluster's elastic nodes cost from the run's start until now, at the hourly
   * prices the ledger recorded (undefined: no ledger, or no node ran).
   */
  cost(): NodeCost | undefined {
    if (!this.ledger || !this.lifetimes || this.lifetimes.length === 0) return undefined;
    const cost = this.ledger.countNodeCost(this.lifetimes, Date.now() / 1000, this.since);
    return cost.byType.length > 0 ? cost : undefined;
  }

  private ledger: typeof import('@toil/provisioner') | undefined;

  /** Reads the ledger when this is a launched cluster's leader (loads its reader then). */
  private async readLedger(): Promise<void> {
    if (this.lifetimes === undefined && !existsSync(this.ledgerPath)) return;
    this.ledger ??= await import('@toil/provisioner');
    const entries = this.ledger.readLedger(this.ledgerPath);
    if (entries) this.lifetimes = this.ledger.ledgerLifetimes(entries);
  }

  /** True once after the counts (or the cost's text) changed: the summary is then rewritten. */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }
}
