import { report, type IoHost } from '@toil/core';
import type { ToilOptions } from './options.js';

/**
 * Checks Toil's autoscaling options of a run (`--provisioner`, `--nodeTypes`, `--maxNodes`…)
 * against the node groups of the cluster this leader runs (`checkRunScaling` of
 * `@toil/provisioner`, loaded only when `--provisioner` was given); what the cluster decides
 * instead is reported as warnings.
 *
 * @throws ToilError `INVALID_ARGUMENT` for a mismatch, `CLUSTER_STATE_INVALID` when this is
 *   not the leader of a cluster with elastic node groups.
 */
export async function checkScalingOptions(options: ToilOptions, host: IoHost): Promise<void> {
  if (!options.scaling) return;
  const { checkRunScaling, readAutoscaleConfig } = await import('@toil/provisioner');
  const config = readAutoscaleConfig(process.env.TOIL_AUTOSCALE_CONFIG || undefined);
  for (const warning of checkRunScaling(options.scaling, config))
    report(host, 'warning', 'WORKFLOW_SCALING_OPTION', warning, undefined, 'toil.leader');
}
