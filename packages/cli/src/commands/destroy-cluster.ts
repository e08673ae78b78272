import { unavailableCommand } from './unavailable.js';
import { clusterNamePositional, provisionerOptions } from './cluster-options.js';

export default unavailableCommand({
  usage: 'destroy-cluster <clusterName>',
  describe: 'Terminates the specified cluster and associated resources.',
  positionals: clusterNamePositional,
  options: provisionerOptions,
  packageName: '@toil/provisioner-aws / @toil/provisioner-gce',
});
