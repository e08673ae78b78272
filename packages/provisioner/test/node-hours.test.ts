import { countNodeHours, describeNodeHours } from '@toil/provisioner';

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
});
