import { ToilError } from '@toil/core';
import '../errors.js';
import { formatNodeType, parseNodeTypes, type WorkerNodeType } from '../node-types.js';
import type { AutoscaleConfig, ElasticGroupConfig } from './config.js';

/**
 * Toil's autoscaling options of a workflow run (`toil run ... --provisioner aws --nodeTypes
 * ... --maxNodes ...`), as given (strings).
 */
export interface RunScalingOptions {
  provisioner: string;
  nodeTypes?: string;
  minNodes?: string;
  maxNodes?: string;
  targetTime?: string;
  nodeStorage?: string;
}

const mismatch = (message: string, config: AutoscaleConfig): ToilError =>
  new ToilError('INVALID_ARGUMENT', message, {
    hint: `This cluster's node groups are ${describeGroups(config)} (set by launch-cluster --nodeTypes / -w MIN-MAX); give those, or leave the options out.`,
  });

/** The groups as people write them: `t2.medium 0-3, t3.large:0.1 0-2`. */
function describeGroups(config: AutoscaleConfig): string {
  return config.groups.map((g) => `${formatNodeType(g)} ${g.min}-${g.max}`).join(', ') || 'none';
}

function sameType(type: WorkerNodeType, group: ElasticGroupConfig): boolean {
  const a = [...type.instanceTypes].sort().join('/');
  const b = [...group.instanceTypes].sort().join('/');
  return a === b && (type.spotBid === undefined) === (group.spotBid === undefined);
}

/** `--minNodes` / `--maxNodes`: one whole number per node type, or one for all. */
function counts(text: string | undefined, flag: string, n: number): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((v) => v.trim());
  if (values.some((v) => !/^\d+$/.test(v)))
    throw new ToilError('INVALID_ARGUMENT', `${flag} ${text} is not a list of whole numbers.`, {
      hint: `Give one count per --nodeTypes entry, e.g. ${flag} 2,1.`,
    });
  if (values.length === 1) return Array<number>(n).fill(Number(values[0]));
  if (values.length !== n)
    throw new ToilError(
      'INVALID_ARGUMENT',
      `${flag} has ${values.length} values for ${n} node type(s).`,
      { hint: `Give one count per --nodeTypes entry, e.g. ${flag} 2,1.` },
    );
  return values.map(Number);
}

/**
 * Checks a run's Toil autoscaling options against the cluster's elastic node groups (on a
 * launched cluster the node groups and Slurm's power saving do the scaling, so the run's
 * options can only ask for what the cluster has): `--provisioner` must be the cluster's,
 * every `--nodeTypes` entry one of its groups (same types, spot or not), `--maxNodes` and
 * `--minNodes` within the group's maximum, `--nodeStorage` the nodes' disk. Resolves to
 * warnings for what the cluster decides instead (a smaller `--maxNodes` or other
 * `--minNodes` than the group's range, `--targetTime`).
 *
 * @throws ToilError `INVALID_ARGUMENT` for a mismatch, one line naming the option and the
 *   cluster's groups.
 */
export function checkRunScaling(options: RunScalingOptions, config: AutoscaleConfig): string[] {
  const warnings: string[] = [];
  if (options.provisioner !== config.provisioner)
    throw mismatch(
      `--provisioner ${options.provisioner} does not match this cluster, which runs on ${config.provisioner}.`,
      config,
    );
  const types = options.nodeTypes === undefined ? [] : parseNodeTypes(options.nodeTypes);
  const groups = types.map((type) => {
    const group = config.groups.find((g) => sameType(type, g));
    if (!group)
      throw mismatch(
        `--nodeTypes ${formatNodeType(type)} is not a node group of this cluster.`,
        config,
      );
    return group;
  });
  const all = groups.length > 0 ? groups : config.groups;
  const max = counts(options.maxNodes, '--maxNodes', all.length);
  const min = counts(options.minNodes, '--minNodes', all.length);
  all.forEach((group, i) => {
    const name = formatNodeType(group);
    if (max && max[i]! > group.max)
      throw mismatch(
        `--maxNodes ${max[i]} for ${name} is more than this cluster's group grows to (${group.max}).`,
        config,
      );
    if (max && max[i]! < group.max)
      warnings.push(
        `--maxNodes ${max[i]} for ${name}: the cluster's group may grow to ${group.max} (its -w ${group.min}-${group.max}).`,
      );
    if (min && min[i]! > group.max)
      throw mismatch(
        `--minNodes ${min[i]} for ${name} is more than this cluster's group grows to (${group.max}).`,
        config,
      );
    if (min && min[i]! !== group.min)
      warnings.push(
        `--minNodes ${min[i]} for ${name}: the cluster keeps ${group.min} node(s) of it (its -w ${group.min}-${group.max}).`,
      );
  });
  if (options.nodeStorage !== undefined) {
    const gb = Number(options.nodeStorage);
    if (!Number.isInteger(gb) || gb <= 0)
      throw new ToilError(
        'INVALID_ARGUMENT',
        `--nodeStorage ${options.nodeStorage} is not a whole number of GB.`,
        {
          hint: 'For example --nodeStorage 50.',
        },
      );
    if (gb !== config.nodeStorageGb)
      throw mismatch(
        `--nodeStorage ${gb} does not match this cluster's nodes, which have ${config.nodeStorageGb} GB.`,
        config,
      );
  }
  if (options.targetTime !== undefined)
    warnings.push(
      `--targetTime ${options.targetTime}: Slurm's power saving starts a node for every waiting job that fits one, so there is no target time.`,
    );
  return warnings;
}
