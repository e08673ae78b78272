import { provisionerOptions } from '@toil/provisioner';
import type { ClusterSummary } from '@toil/provisioner';
import { defineCommand, reportText } from '../command.js';
import { formatAge, openProvisioner } from './provisioner.js';

/** The text table of `toil list-clusters`. */
export function renderClusters(clusters: ClusterSummary[], where: string, now: number): string {
  if (clusters.length === 0) return `No clusters in ${where}.\n`;
  const header = ['NAME', 'ZONE', 'LEADER', 'NODES', 'OWNER', 'AGE'];
  const rows = clusters.map((c) => [
    c.name,
    c.zone ?? '-',
    c.leader
      ? `${c.leader.publicAddress ?? c.leader.privateAddress ?? c.leader.id} (${c.leader.state})`
      : '-',
    Object.entries(c.nodes)
      .map(([type, states]) =>
        Object.entries(states)
          .map(([state, n]) => `${n} ${type} ${state}`)
          .join(', '),
      )
      .join(', ') || '0',
    c.owner ?? '-',
    c.launchTime === undefined ? '-' : formatAge(now - c.launchTime),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export default defineCommand({
  usage: 'list-clusters',
  describe:
    'Lists the clusters found by tag in the region (or project), with their leader and nodes.',
  positionals: {},
  options: provisionerOptions,
  async run(args, context) {
    const provisioner = await openProvisioner(args, context);
    const clusters = await provisioner.listClusters();
    context.out(
      reportText(context.json, { clusters }, () =>
        renderClusters(clusters, provisioner.zone, Date.now() / 1000),
      ),
    );
    return 0;
  },
});
