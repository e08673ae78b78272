import { performance } from 'node:perf_hooks';
import { countNodes, type NodeGroupCount, type ScalingCapability } from '@toil/batch-system';

/** The nodes are read at most this often (milliseconds). */
const READ_EVERY_MS = 5000;

/**
 * The batch system's nodes by type and state, for the progress display and `toil status`:
 * read in the background at most every 5 s so the leader's loop never waits for it, and shown
 * only for a cluster (a batch system that can grow, has more than one node, or types its nodes:
 * an elastic node group of one).
 */
export class NodeWatch {
  private counts: NodeGroupCount[] | undefined;
  private key = '';
  private changed = false;
  private reading = false;
  private lastRead = -Infinity;
  private cluster: boolean | undefined;

  constructor(private readonly scaling: ScalingCapability | undefined) {}

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
      scaling.nodes().then(
        (nodes) => {
          this.reading = false;
          this.cluster ??=
            scaling.canGrow || nodes.length > 1 || nodes.some((n) => n.type !== undefined);
          if (!this.cluster) return;
          const counts = countNodes(nodes);
          const key = JSON.stringify(counts);
          if (key !== this.key) [this.key, this.counts, this.changed] = [key, counts, true];
        },
        // Only a display: a failed read (a controller restarting) shows the last counts.
        () => (this.reading = false),
      );
    }
    return this.counts;
  }

  /** True once after the counts changed (the summary is then rewritten). */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }
}
