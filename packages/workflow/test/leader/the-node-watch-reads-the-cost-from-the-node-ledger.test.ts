import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScalingCapability } from '@toil/batch-system';
import { NodeWatch } from '../../src/leader/nodes.js';

const scaling: ScalingCapability = {
  canGrow: true,
  demand: () => [],
  nodes: async () => [
    {
      id: 'w0-0',
      cores: 2,
      memory: 2 ** 32,
      disk: 0,
      free: { cores: 0, memory: 0, disk: 0 },
      busy: true,
      type: 't2.medium',
      state: 'busy',
    },
  ],
};

/** Calls `current()` until the background read has landed. */
async function read(watch: NodeWatch): Promise<void> {
  watch.current();
  for (let i = 0; i < 100 && !watch.takeChanged(); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("the leader's node watch", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'toil-node-watch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("accrues the elastic nodes' cost since the run started from the ledger, until now", async () => {
    const now = Date.now() / 1000;
    const ledger = join(dir, 'nodes.jsonl');
    const line = (e: object) => `${JSON.stringify({ v: 1, ...e })}\n`;
    writeFileSync(
      ledger,
      line({
        event: 'start',
        node: 'w0-0',
        instance: 'i-a',
        type: 't2.medium',
        spot: true,
        time: now - 7200,
        usdPerHour: 0.0139,
      }) +
        line({
          event: 'start',
          node: 'w0-1',
          instance: 'i-b',
          type: 't2.medium',
          spot: false,
          time: now - 7200,
          noPrice: 'the Price List API: 404',
        }) +
        line({ event: 'stop', node: 'w0-1', instance: 'i-b', time: now - 1800, why: 'suspend' }),
    );
    const watch = new NodeWatch(scaling, { ledgerPath: ledger, since: now - 3600 });
    await read(watch);
    expect(watch.current()).toEqual([{ type: 't2.medium', state: 'busy', count: 1 }]);
    const cost = watch.cost()!;
    const spot = cost.byType.find((t) => t.spot)!;
    expect(spot.hours).toBeGreaterThanOrEqual(1);
    expect(spot.hours).toBeLessThan(1.01);
    expect(cost.usd).toBeCloseTo(spot.hours * 0.0139, 12);
    expect(cost.byType.find((t) => !t.spot)).toEqual({
      type: 't2.medium',
      spot: false,
      hours: 0.5,
      noPrice: 'the Price List API: 404',
    });
  });

  it('shows no cost where there is no ledger (not a launched cluster)', async () => {
    const watch = new NodeWatch(scaling, { ledgerPath: join(dir, 'none.jsonl') });
    await read(watch);
    expect(watch.current()).toHaveLength(1);
    expect(watch.cost()).toBeUndefined();
  });
});
