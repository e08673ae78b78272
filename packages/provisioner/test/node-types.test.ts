import {
  formatNodeType,
  pairNodeGroups,
  parseNodeType,
  parseNodeTypes,
  parseWorkerCounts,
} from '@toil/provisioner';
import { thrownToilError } from '../../../tooling/test-env/errors.js';

describe('parseNodeTypes', () => {
  it("parses every valid case of Toil's test_node_type_parsing", () => {
    expect(parseNodeTypes(undefined)).toEqual([]);
    expect(parseNodeTypes('')).toEqual([]);
    expect(parseNodeTypes('red beans')).toEqual([{ instanceTypes: ['red beans'] }]);
    expect(parseNodeTypes('red beans,rice')).toEqual([
      { instanceTypes: ['red beans'] },
      { instanceTypes: ['rice'] },
    ]);
    expect(parseNodeTypes('red beans/black beans,rice')).toEqual([
      { instanceTypes: ['red beans', 'black beans'] },
      { instanceTypes: ['rice'] },
    ]);
    expect(parseNodeTypes('frankfurters:0.05')).toEqual([
      { instanceTypes: ['frankfurters'], spotBid: 0.05 },
    ]);
    expect(parseNodeTypes('red beans/black beans:999,rice,red beans/black beans')).toEqual([
      { instanceTypes: ['red beans', 'black beans'], spotBid: 999 },
      { instanceTypes: ['rice'] },
      { instanceTypes: ['red beans', 'black beans'] },
    ]);
  });

  it('parses the issue examples', () => {
    expect(parseNodeTypes('t2.micro:0.5')).toEqual([{ instanceTypes: ['t2.micro'], spotBid: 0.5 }]);
    expect(parseNodeTypes('c5.large/c5a.large:0.2,m5.xlarge')).toEqual([
      { instanceTypes: ['c5.large', 'c5a.large'], spotBid: 0.2 },
      { instanceTypes: ['m5.xlarge'] },
    ]);
  });

  it.each([
    ['your thoughts:penny', 'the spot bid "penny" is not a number'],
    [',,,', 'empty instance type'],
    ['now hear this:', "the spot bid after ':' is empty"],
    ['miles I will walk:500:500', 'multiple bids'],
    ['red beans:500/black beans:500,rice', 'multiple bids'],
    ['t2.small:abc', 'the spot bid "abc" is not a number'],
    ['t2.small:0', 'the spot bid must be more than 0'],
    ['t2.small:-1', 'the spot bid "-1" is not a number'],
    ['t2.small:1e3', 'the spot bid "1e3" is not a number'],
    ['t2.small/', 'empty instance type'],
  ])('refuses %j with a one-line NODE_TYPE_INVALID error (%s)', (spec, part) => {
    const error = thrownToilError(() => parseNodeTypes(spec));
    expect(error.code).toBe('NODE_TYPE_INVALID');
    expect(error.message).toContain(part);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toContain('TYPE[/TYPE...][:BID]');
  });

  it('writes a node type back in --nodeTypes form', () => {
    expect(formatNodeType(parseNodeType('c5.large/c5a.large:0.2'))).toBe('c5.large/c5a.large:0.2');
    expect(formatNodeType(parseNodeType('m5.xlarge'))).toBe('m5.xlarge');
  });
});

describe('parseWorkerCounts', () => {
  it('parses counts and ranges, swapping a reversed range', () => {
    expect(parseWorkerCounts('2,0-4,3-1')).toEqual([
      { fixed: 2 },
      { min: 0, max: 4 },
      { min: 1, max: 3 },
    ]);
    expect(parseWorkerCounts(undefined)).toEqual([]);
  });

  it.each([
    ['1-2-3', 'Unacceptable range: 1-2-3'],
    ['two', 'Unacceptable worker count: "two"'],
    ['2,', 'Unacceptable worker count: ""'],
    ['-1', 'Unacceptable range: -1'],
    ['1.5', 'Unacceptable worker count: "1.5"'],
  ])('refuses %j', (spec, message) => {
    const error = thrownToilError(() => parseWorkerCounts(spec));
    expect(error.code).toBe('NODE_TYPE_INVALID');
    expect(error.message).toBe(message);
  });
});

describe('pairNodeGroups', () => {
  it('pairs node types with counts and drops zero counts', () => {
    expect(pairNodeGroups('t3.large,t3.small:0.1,m5.large', '2,4,0')).toEqual({
      workers: [
        { instanceTypes: ['t3.large'], count: 2 },
        { instanceTypes: ['t3.small'], spotBid: 0.1, count: 4 },
      ],
      elastic: [],
    });
    expect(pairNodeGroups(undefined, undefined)).toEqual({ workers: [], elastic: [] });
    expect(pairNodeGroups('m5.large', '0-0')).toEqual({ workers: [], elastic: [] });
  });

  it('makes a range an elastic group from its minimum to its maximum, in either order', () => {
    expect(pairNodeGroups('t2.medium,t2.small:0.2,m5.large', '0-3,2-0,1')).toEqual({
      workers: [{ instanceTypes: ['m5.large'], count: 1 }],
      elastic: [
        { instanceTypes: ['t2.medium'], min: 0, max: 3 },
        { instanceTypes: ['t2.small'], spotBid: 0.2, min: 0, max: 2 },
      ],
    });
  });

  it('refuses --nodeTypes without -w and -w without --nodeTypes', () => {
    for (const [types, counts] of [
      ['t3.large', undefined],
      [undefined, '2'],
    ] as const) {
      const error = thrownToilError(() => pairNodeGroups(types, counts));
      expect(error.code).toBe('NODE_TYPE_INVALID');
      expect(error.message).toBe('The --nodeTypes option requires --workers, and vice versa.');
    }
  });

  it('refuses lists of different lengths', () => {
    const error = thrownToilError(() => pairNodeGroups('t3.large,t3.small', '2'));
    expect(error.message).toContain(
      'List of worker count ranges must be the same length as the list of node types',
    );
  });
});
