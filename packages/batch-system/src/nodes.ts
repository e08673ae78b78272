import type { NodeGroupCount, NodeActivity, NodeView } from './contract.js';

const NODE_STATE_ORDER: readonly NodeActivity[] = [
  'busy',
  'idle',
  'booting',
  'draining',
  'powering-down',
  'down',
  'powered-down',
];

/** The state of a node: its own when the batch system gives one, else busy or idle. */
export function nodeStateOf(node: NodeView): NodeActivity {
  return node.state ?? (node.busy ? 'busy' : 'idle');
}

/**
 * Counts nodes by type and state (type `node` when the batch system gives none), types in
 * name order, states busy, idle, booting, draining, powering-down, down, powered-down.
 */
export function countNodes(nodes: readonly NodeView[]): NodeGroupCount[] {
  const counts = new Map<string, NodeGroupCount>();
  for (const node of nodes) {
    const type = node.type ?? 'node';
    const state = nodeStateOf(node);
    const key = `${type}\0${state}`;
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { type, state, count: 1 });
  }
  return [...counts.values()].sort(
    (a, b) =>
      a.type.localeCompare(b.type) ||
      NODE_STATE_ORDER.indexOf(a.state) - NODE_STATE_ORDER.indexOf(b.state),
  );
}

/** `t3.medium 2 busy, 1 booting; c5.large 1 idle` (empty for no nodes). */
export function describeNodeCounts(counts: readonly NodeGroupCount[]): string {
  const byType = new Map<string, string[]>();
  for (const c of counts) {
    const parts = byType.get(c.type) ?? [];
    parts.push(`${c.count} ${c.state}`);
    byType.set(c.type, parts);
  }
  return [...byType].map(([type, parts]) => `${type} ${parts.join(', ')}`).join('; ');
}
