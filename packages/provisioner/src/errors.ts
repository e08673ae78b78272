import { registerUsageErrorCodes } from '@toil/core';

declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    /** A cluster name breaks the naming rules (checked before any cloud call). */
    CLUSTER_NAME_INVALID: true;
    /** `--nodeTypes` / `-w` / `--leaderNodeType` / a spot bid could not be parsed or paired. */
    NODE_TYPE_INVALID: true;
    /** A `-t NAME=VALUE` tag or `TOIL_AWS_TAGS` is malformed. */
    TAG_INVALID: true;
    /** No zone was given and none could be found in the environment. */
    ZONE_MISSING: true;
    /** A zone or region name that cannot be parsed. */
    ZONE_INVALID: true;
    /** `--provisioner` names no known provisioner. */
    PROVISIONER_UNKNOWN: true;
    /** The cluster spec failed validation. */
    CLUSTER_SPEC_INVALID: true;
    /** The provisioner's package is not installed next to the CLI. */
    PROVISIONER_NOT_INSTALLED: true;
    /** No cluster of that name exists in the zone or region. */
    CLUSTER_NOT_FOUND: true;
    /** A cluster of that name already exists. */
    CLUSTER_EXISTS: true;
    /** The cluster's instances do not look like a cluster toil launched (e.g. no leader). */
    CLUSTER_STATE_INVALID: true;
    /** Cloud credentials are missing, invalid or expired. */
    CLOUD_CREDENTIALS: true;
    /** A cloud call failed (after retries where retrying makes sense). */
    CLOUD_API: true;
    /** A launch phase failed or did not finish in time. */
    LAUNCH_FAILED: true;
    /** Destroy finished but resources remain. */
    DESTROY_INCOMPLETE: true;
    /** Bootstrap stage 2 (over SSH) failed on a node. */
    BOOTSTRAP_FAILED: true;
    /** The resource is of a kind toil-ts does not support (e.g. elastic node groups on a provisioner without them). */
    CLUSTER_UNSUPPORTED: true;
  }
}

registerUsageErrorCodes(
  'CLUSTER_NAME_INVALID',
  'NODE_TYPE_INVALID',
  'TAG_INVALID',
  'ZONE_MISSING',
  'ZONE_INVALID',
  'PROVISIONER_UNKNOWN',
  'CLUSTER_SPEC_INVALID',
  'CLUSTER_UNSUPPORTED',
);

/** The error codes this package adds to `ToilErrorCodeRegistry`. */
export const PROVISIONER_ERROR_CODES = [
  'CLUSTER_NAME_INVALID',
  'NODE_TYPE_INVALID',
  'TAG_INVALID',
  'ZONE_MISSING',
  'ZONE_INVALID',
  'PROVISIONER_UNKNOWN',
  'CLUSTER_SPEC_INVALID',
  'PROVISIONER_NOT_INSTALLED',
  'CLUSTER_NOT_FOUND',
  'CLUSTER_EXISTS',
  'CLUSTER_STATE_INVALID',
  'CLOUD_CREDENTIALS',
  'CLOUD_API',
  'LAUNCH_FAILED',
  'DESTROY_INCOMPLETE',
  'BOOTSTRAP_FAILED',
  'CLUSTER_UNSUPPORTED',
] as const;
