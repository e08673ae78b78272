import { unavailableCommand } from './unavailable.js';
import { clusterNamePositional, provisionerOptions } from './cluster-options.js';

export default unavailableCommand({
  usage: 'launch-cluster <clusterName>',
  describe: 'Launches a toil leader instance with the specified provisioner.',
  positionals: clusterNamePositional,
  options: provisionerOptions,
  packageName: '@toil/provisioner-aws / @toil/provisioner-gce',
});
