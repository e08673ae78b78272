import {
  checkClusterName,
  clusterNamePositional,
  describeClusterCost,
  describeNodeHours,
  dryRunOption,
  provisionerOptions,
} from '@toil/provisioner';
import type { DestroyReport } from '@toil/provisioner';
import { defineCommand, reportText } from '../command.js';
import { openProvisioner } from './provisioner.js';

function renderDestroy(report: DestroyReport, zone: string): string {
  if (report.notFound)
    return `No cluster named ${report.clusterName} was found in ${zone}; nothing to destroy.\n`;
  const lines = report.deleted.map((r) => `  ${r.kind} ${r.id}${r.detail ? ` (${r.detail})` : ''}`);
  if (report.dryRun)
    return `Dry run: destroying cluster ${report.clusterName} would delete:\n${lines.join('\n')}\n`;
  const hours = report.nodeHours
    ? `It ran ${describeNodeHours(report.nodeHours)}, counting every instance the cloud still listed or the leader recorded.\n`
    : '';
  const cost =
    report.cost && report.cost.byType.length > 0
      ? `Cost: ${describeClusterCost(report.cost)}.\n`
      : '';
  return `Deleted:\n${lines.join('\n')}\nCluster ${report.clusterName} is now gone.\n${hours}${cost}`;
}

export default defineCommand({
  usage: 'destroy-cluster <clusterName>',
  describe: 'Terminates the specified cluster and associated resources.',
  positionals: clusterNamePositional,
  options: { ...provisionerOptions, ...dryRunOption },
  epilogue:
    "Everything is found by the cluster name tag, in any state; the command looks again afterwards and exits 1 listing whatever remains. A cluster that does not exist is not an error. It ends with the node-hours the cluster used: every instance it destroyed, until now, and instances the cluster shrank by earlier while the cloud still lists them (EC2: about an hour) or as the leader recorded them (Compute Engine: every worker it deleted), and what they cost at the prices the cloud's API gives (spot instances at the spot price when they started); a type without a price is named as such, never estimated.",
  async run(args, context) {
    checkClusterName(args.clusterName);
    const provisioner = await openProvisioner(args, context);
    const report = await provisioner.destroyCluster(args.clusterName, { dryRun: args.dryRun });
    context.out(reportText(context.json, report, () => renderDestroy(report, provisioner.zone)));
    return 0;
  },
});
