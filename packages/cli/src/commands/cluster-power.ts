import {
  POWER_ACTIONS,
  leaderPowerContext,
  leaderToilPackage,
  loadProvisioner,
  runPowerAction,
  type PowerAction,
} from '@toil/provisioner';
import { defineCommand, reportText } from '../command.js';

export default defineCommand({
  usage: 'cluster-power <action>',
  describe:
    "Slurm's power saving on a cluster leader (its ResumeProgram, SuspendProgram and ResumeFailProgram): starts or terminates the cloud nodes of elastic node groups.",
  positionals: {
    action: {
      choices: POWER_ACTIONS,
      demandOption: true,
      describe: 'resume: start the nodes; suspend, resume-fail: terminate their instances.',
    },
  },
  options: {
    nodes: {
      type: 'string',
      demandOption: true,
      describe: 'The Slurm host list Slurm gives the program, e.g. w0-[0-2].',
    },
  },
  async run(args, context) {
    const context_ = await leaderPowerContext({
      host: context.host,
      loadProvisioner: (config) =>
        loadProvisioner(
          config.provisioner,
          { zone: config.zone, host: context.host },
          (specifier) => import(specifier),
        ),
      connectorFor: async (credentials) =>
        (await import('@toil/cluster-ssh')).nodeConnector(credentials),
      toilPackage: leaderToilPackage(process.argv[1]!, context.version),
    });
    const result = await runPowerAction(args.action as PowerAction, args.nodes, context_);
    context.out(
      reportText(
        context.json,
        result,
        () =>
          `${result.action}: ${result.done.join(', ') || 'nothing'}${result.failed.length > 0 ? `; failed: ${result.failed.map((f) => f.name).join(', ')}` : ''}\n`,
      ),
    );
    return result.failed.length > 0 ? 1 : 0;
  },
});
