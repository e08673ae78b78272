import { describeNodeCost, formatHourly, formatUsd } from '@toil/batch-system';

describe('node costs described in dollars', () => {
  it('show cents from a cent up, and two significant digits below, never $0.00 for a cost', () => {
    expect(formatUsd(0.4249)).toBe('$0.42');
    expect(formatUsd(12.5)).toBe('$12.50');
    expect(formatUsd(0.01)).toBe('$0.01');
    expect(formatUsd(0.0012)).toBe('$0.0012');
    expect(formatUsd(0.0000012345)).toBe('$0.0000012');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatHourly(0.0464)).toBe('$0.0464/h');
    expect(formatHourly(0.00001)).toBe('$0.00001/h');
    expect(formatHourly(1.5)).toBe('$1.50/h');
    expect(formatHourly(0.1)).toBe('$0.10/h');
  });

  it('give the total with each priced type, and name the types the cloud gave no price for', () => {
    expect(
      describeNodeCost({
        usd: 0.0000125,
        byType: [{ type: 't2.medium', spot: true, hours: 1.25, usd: 0.0000125 }],
      }),
    ).toBe('$0.000013 (t2.medium spot 1.25 h at $0.00001/h)');
    expect(
      describeNodeCost({
        usd: 0.232,
        byType: [
          { type: 't3.large', spot: false, hours: 2.5, usd: 0.208 },
          { type: 'c5.large', spot: true, hours: 1, usd: 0.024 },
          { type: 't3.medium', spot: false, hours: 0.5, noPrice: 'AccessDenied' },
        ],
      }),
    ).toBe(
      "$0.23 (t3.large 2.50 h at $0.0832/h, c5.large spot 1.00 h at $0.024/h); no price for t3.medium from the cloud's API (AccessDenied)",
    );
    expect(
      describeNodeCost({
        usd: 0,
        byType: [
          { type: 't2.medium', spot: false, hours: 1, noPrice: 'x' },
          { type: 't3.medium', spot: false, hours: 1, noPrice: 'y' },
        ],
      }),
    ).toBe("no price for t2.medium, t3.medium from the cloud's API");
  });
});
