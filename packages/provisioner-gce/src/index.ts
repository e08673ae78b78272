/**
 * @toil/provisioner-gce: the Google Compute Engine provisioner (`--provisioner gce`).
 *
 * Loaded by `loadProvisioner('gce', …)` from `@toil/provisioner`. Credentials come from the
 * standard Google auth chain (`GOOGLE_APPLICATION_CREDENTIALS`, application-default
 * credentials), the project from `GOOGLE_CLOUD_PROJECT` or the credentials, the API endpoint
 * from `TOIL_GCE_ENDPOINT` (default: Compute Engine's own), the boot image from the newest
 * image of `TOIL_GCE_IMAGE_FAMILY` (default `ubuntu-os-cloud/ubuntu-2204-lts`).
 *
 * @packageDocumentation
 */
import type { Provisioner } from '@toil/provisioner';
import { GceProvisioner, type GceProvisionerOptions } from './provisioner.js';

export { GceProvisioner, DEFAULT_IMAGE_FAMILY, firewallNames, networkTag } from './provisioner.js';
export type { GcePhaseTimeouts, GceProvisionerOptions } from './provisioner.js';
export {
  CLUSTER_LABEL,
  ROLE_LABEL,
  SSH_USER_LABEL,
  HOST_KEYS_METADATA_KEY,
  TAGS_METADATA_KEY,
  clusterLabels,
  nodeFromInstance,
  nodeState,
} from './labels.js';
export { endpointOptions, gceError } from './api.js';

/**
 * Makes the GCE provisioner for `config.zone` (`--zone` or `TOIL_GCE_ZONE`). Connecting and
 * checking credentials happen at the first cloud call.
 */
export function createProvisioner(config: GceProvisionerOptions): Provisioner {
  return new GceProvisioner(config);
}
