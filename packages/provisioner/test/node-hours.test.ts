import {
  countNodeCost,
  countNodeHours,
  describeClusterCost,
  describeNodeHours,
} from '@toil/provisioner';

describe('node-hours', () => {
  it('count running instances until now and terminated ones until they ended, by type', () => {
    const now = 1_800_000_000;
    const hours = countNodeHours(
      [
        { nodeType: 't3.medium', launched: now - 2 * 3600 },
        { nodeType: 'c5.large', launched: now - 3 * 3600, ended: now - 2.5 * 3600 },
        { nodeType: 'c5.large', launched: now - 600 },
        { nodeType: 'c5.large', launched: 0 },
      ],
      now,
    );
    expect(hours.nodes).toBe(3);
    expect(hours.total).toBeCloseTo(2 + 0.5 + 1 / 6, 10);
    expect(hours.byType['t3.medium']).toBeCloseTo(2, 10);
    expect(hours.byType['c5.large']).toBeCloseTo(0.5 + 1 / 6, 10);
    expect(describeNodeHours(hours)).toBe(
      '2.67 node-hours over 3 instances (t3.medium 2.00, c5.large 0.67)',
    );
    expect(describeNodeHours(countNodeHours([], now))).toBe('0.00 node-hours over 0 instances');
  });

  it('cost each instance at its own hourly price, spot and on demand apart, and list the ones without a price', () => {
    const now = 1_800_000_000;
    const lives = [
      { nodeType: 't3.medium', launched: now - 2 * 3600, usdPerHour: 0.0416 },
      {
        nodeType: 'c5.large',
        spot: true,
        launched: now - 3 * 3600,
        ended: now - 2 * 3600,
        usdPerHour: 0.03,
      },
      { nodeType: 'c5.large', spot: true, launched: now - 3600, usdPerHour: 0.04 },
      { nodeType: 'c5.large', launched: now - 1800, noPrice: 'AccessDenied' },
    ];
    const cost = countNodeCost(lives, now);
    expect(cost.usd).toBeCloseTo(2 * 0.0416 + 0.03 + 0.04, 12);
    expect(cost.byType).toEqual([
      { type: 'c5.large', spot: true, hours: 2, usd: expect.closeTo(0.07, 12) },
      { type: 't3.medium', spot: false, hours: 2, usd: expect.closeTo(0.0832, 12) },
      { type: 'c5.large', spot: false, hours: 0.5, noPrice: 'AccessDenied' },
    ]);
    expect(describeClusterCost(cost)).toBe(
      "$0.15 at the cloud's prices (c5.large spot 2.00 h at $0.035/h, t3.medium 2.00 h at $0.0416/h); no price for c5.large from the cloud's API (AccessDenied)",
    );
    // A run's share: only the time since it started; nodes that ended before are left out.
    const since = countNodeCost(lives, now, now - 1800);
    expect(since.byType.map((t) => [t.type, t.spot, t.hours])).toEqual([
      ['c5.large', true, 0.5],
      ['c5.large', false, 0.5],
      ['t3.medium', false, 0.5],
    ]);
    expect(since.usd).toBeCloseTo(0.5 * 0.0416 + 0.5 * 0.04, 12);
    const unpriced = countNodeCost(
      [{ nodeType: 't2.medium', launched: now - 3600, noPrice: 'no price' }],
      now,
    );
    expect(describeClusterCost(unpriced)).toBe(
      "no price for t2.medium from the cloud's API (no price)",
    );
  });
});
