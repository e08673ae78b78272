import { unavailableCommand } from './unavailable.js';
import { clusterNamePositional, provisionerOptions } from '@toil/provisioner';

export default unavailableCommand({
  usage: 'ssh-cluster <clusterName> [command..]',
  describe: 'SSH into the toil appliance container running on the leader of the cluster.',
  positionals: {
    ...clusterNamePositional,
    command: { type: 'string', array: true, describe: 'A command to run on the leader.' },
  },
  options: {
    ...provisionerOptions,
    insecure: { type: 'boolean', default: false, describe: 'Do not check the host key.' },
  },
  packageName: '@toil/cluster-ssh',
});
