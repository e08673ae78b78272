import { countNodes, describeNodeCounts, type NodeView } from '@toil/batch-system';

const node = (id: string, extra: Partial<NodeView>): NodeView => ({
  id,
  cores: 2,
  memory: 2 ** 32,
  disk: 0,
  free: { cores: 2, memory: 2 ** 32, disk: 0 },
  busy: false,
  ...extra,
});

describe('nodes counted by type and state', () => {
  it('groups by type in name order, states busy first; a node without a state is busy or idle', () => {
    const counts = countNodes([
      node('a', { type: 't3.medium', state: 'booting' }),
      node('b', { type: 't3.medium', busy: true }),
      node('c', { type: 'c5.large', state: 'draining' }),
      node('d', { type: 't3.medium', state: 'busy' }),
      node('e', {}),
      node('f', { type: 'c5.large', state: 'down' }),
    ]);
    expect(counts).toEqual([
      { type: 'c5.large', state: 'draining', count: 1 },
      { type: 'c5.large', state: 'down', count: 1 },
      { type: 'node', state: 'idle', count: 1 },
      { type: 't3.medium', state: 'busy', count: 2 },
      { type: 't3.medium', state: 'booting', count: 1 },
    ]);
    expect(describeNodeCounts(counts)).toBe(
      'c5.large 1 draining, 1 down; node 1 idle; t3.medium 2 busy, 1 booting',
    );
    expect(describeNodeCounts([])).toBe('');
  });
});
