import {
  launchClusterOptions,
  clusterNamePositional,
  launchSpecFromOptions,
  nodeAddress,
} from '@toil/provisioner';
import type { LaunchResult } from '@toil/provisioner';
import { defineCommand, reportText } from '../command.js';
import { openProvisioner } from './provisioner.js';

function renderLaunch(result: LaunchResult, provisioner: string): string {
  if (result.dryRun) {
    const lines = result.resources.map(
      (r) => `  ${r.kind} ${r.id}${r.detail ? ` (${r.detail})` : ''}`,
    );
    return `Dry run: launching cluster ${result.clusterName} would create:\n${lines.join('\n')}\n`;
  }
  const leader = result.leader!;
  const byType = new Map<string, number>();
  for (const w of result.workers) byType.set(w.nodeType, (byType.get(w.nodeType) ?? 0) + 1);
  const workers =
    result.workers.length === 0
      ? 'no workers'
      : [...byType].map(([type, n]) => `${n} x ${type}`).join(', ');
  return (
    `Cluster ${result.clusterName} created: leader ${leader.id} (${leader.nodeType}) at ` +
    `${nodeAddress(leader) ?? 'no address'} as ${leader.sshUser}; ${workers}.\n` +
    `Reach it with: toil ssh-cluster ${provisioner === 'aws' ? '' : `--provisioner ${provisioner} --zone ${leader.zone ?? ''} `}${result.clusterName}\n`
  );
}

export default defineCommand({
  usage: 'launch-cluster <clusterName>',
  describe: 'Launches a toil leader instance with the specified provisioner.',
  positionals: clusterNamePositional,
  options: launchClusterOptions,
  examples: [
    [
      'toil launch-cluster my-cluster --leaderNodeType t3.medium --keyPairName me --zone us-west-2a',
      'A leader only',
    ],
    [
      'toil launch-cluster my-cluster --leaderNodeType t3.medium --keyPairName me --nodeTypes c5.large:0.05,m5.large -w 4,1',
      'With 4 spot and 1 on-demand workers',
    ],
  ],
  async run(args, context) {
    // Every check of the input comes before the provisioner (and its SDK) is loaded.
    const spec = launchSpecFromOptions(args, { version: context.version });
    const provisioner = await openProvisioner({ ...args, zone: spec.zone }, context);
    const result = await provisioner.launchCluster(spec);
    context.out(reportText(context.json, result, () => renderLaunch(result, args.provisioner)));
    return 0;
  },
});
