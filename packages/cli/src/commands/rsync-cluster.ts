import { unavailableCommand } from './unavailable.js';
import { clusterNamePositional, provisionerOptions } from '@toil/provisioner';

export default unavailableCommand({
  usage: 'rsync-cluster <clusterName> <args..>',
  describe: 'Rsyncs into the toil appliance container running on the leader of the cluster.',
  positionals: {
    ...clusterNamePositional,
    args: {
      type: 'string',
      array: true,
      describe: 'rsync arguments; prefix remote paths with ":".',
    },
  },
  options: {
    ...provisionerOptions,
    insecure: { type: 'boolean', default: false, describe: 'Do not check the host key.' },
  },
  packageName: '@toil/cluster-ssh',
});
