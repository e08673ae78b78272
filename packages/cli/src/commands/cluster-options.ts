import type { Options, PositionalOptions } from 'yargs';

/** Options every cluster command shares (Toil's `add_provisioner_options`). */
export const provisionerOptions = {
  provisioner: {
    alias: 'p',
    choices: ['aws', 'gce'] as const,
    default: 'aws' as const,
    describe: 'The provisioner for cluster auto-scaling.',
  },
  zone: {
    alias: 'z',
    type: 'string',
    describe: 'The availability zone of the leader (default: from the provisioner configuration).',
  },
} satisfies Record<string, Options>;

/** The cluster name positional. */
export const clusterNamePositional = {
  clusterName: {
    type: 'string',
    demandOption: true,
    describe: "The name of the cluster. Must be lowercase and may not contain the '_' character.",
  },
} satisfies Record<string, PositionalOptions>;
