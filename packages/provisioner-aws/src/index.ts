/**
 * @toil/provisioner-aws: the `Provisioner` contract on EC2 and IAM, loaded by
 * `loadProvisioner('aws', …)` from `@toil/provisioner`.
 *
 * @packageDocumentation
 */
import type { ProvisionerConfig } from '@toil/provisioner';
import { AwsProvisioner, type AwsProvisionerOptions } from './provisioner.js';

export { AwsProvisioner, resolveRegion } from './provisioner.js';
export type { AwsProvisionerOptions } from './provisioner.js';
export { zoneToRegion, retryOn, chunks } from './aws.js';
export type { AwsClients } from './aws.js';
export { clusterPolicy } from './launch.js';
export { iamName, securityGroupName } from './inventory.js';
export {
  AwsPrices,
  onDemandPrice,
  onDemandPriceOf,
  spotPriceAt,
  spotPriceHistory,
} from './prices.js';
export type { DestroyTiming } from './destroy.js';

/** Makes the AWS provisioner (what `loadProvisioner('aws', config)` calls). */
export function createProvisioner(
  config: ProvisionerConfig | AwsProvisionerOptions,
): AwsProvisioner {
  return new AwsProvisioner(config);
}
