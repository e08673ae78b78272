import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendLedger,
  ledgerCost,
  ledgerLifetimes,
  openStarts,
  readLedger,
  type LedgerEntry,
} from '@toil/provisioner';

const T = 1_800_000_000;

describe("the leader's node ledger", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'toil-ledger-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const start = (node: string, instance: string, time: number, price?: number): LedgerEntry => ({
    v: 1,
    event: 'start',
    node,
    instance,
    type: 't2.medium',
    spot: true,
    time,
    ...(price === undefined ? { noPrice: 'no spot price history' } : { usdPerHour: price }),
  });
  const stop = (node: string, instance: string, time: number): LedgerEntry => ({
    v: 1,
    event: 'stop',
    node,
    instance,
    time,
    why: 'suspend',
  });

  it('is read back as appended, world-readable, skipping a line cut short, and is absent on other machines', () => {
    const path = join(dir, 'nodes.jsonl');
    expect(readLedger(path)).toBeUndefined();
    expect(ledgerCost(path, 0, T)).toBeUndefined();
    appendLedger(path, [start('w0-0', 'i-a', T - 3600, 0.02)]);
    appendLedger(path, [stop('w0-0', 'i-a', T - 1800), start('w0-1', 'i-b', T - 600, 0.02)]);
    appendFileSync(path, '{"v":1,"event":"stop","node":"w0-1","inst');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(readLedger(path)).toEqual([
      start('w0-0', 'i-a', T - 3600, 0.02),
      stop('w0-0', 'i-a', T - 1800),
      start('w0-1', 'i-b', T - 600, 0.02),
    ]);
  });

  it("gives each instance's life from its start to its first stop, and what was still up by node name", () => {
    const entries = [
      start('w0-0', 'i-a', T - 3600, 0.02),
      start('w0-1', 'i-b', T - 600),
      stop('w0-0', 'i-a', T - 1800),
      stop('w0-0', 'i-a', T - 60),
    ];
    expect(ledgerLifetimes(entries)).toEqual([
      { nodeType: 't2.medium', spot: true, launched: T - 3600, ended: T - 1800, usdPerHour: 0.02 },
      { nodeType: 't2.medium', spot: true, launched: T - 600, noPrice: 'no spot price history' },
    ]);
    expect(openStarts(entries, new Set(['w0-0', 'w0-1']))).toEqual([entries[1]]);
  });

  it("costs a run's share: nodes from the run's start until now at their recorded prices", () => {
    const path = join(dir, 'nodes.jsonl');
    appendLedger(path, [
      start('w0-0', 'i-a', T - 7200, 0.02),
      stop('w0-0', 'i-a', T - 3600),
      start('w0-1', 'i-b', T - 1800, 0.02),
    ]);
    // The run started an hour ago: the first node ended before, the second ran half an hour.
    expect(ledgerCost(path, T - 3600, T)).toEqual({
      usd: expect.closeTo(0.01, 12),
      byType: [{ type: 't2.medium', spot: true, hours: 0.5, usd: expect.closeTo(0.01, 12) }],
    });
  });
});
