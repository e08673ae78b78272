import { readFileSync } from 'node:fs';
import { ToilError } from '@toil/core';
import '../errors.js';
import type { ElasticGroup } from '../node-types.js';
import type { SlurmCloudGroup, SlurmConfInput } from '../bootstrap/slurm-conf.js';
import type { ClusterSpec } from '../spec.js';

/** Where stage 2 keeps the autoscaling settings on the leader (readable by Slurm's user). */
export const AUTOSCALE_DIR = '/etc/toil-ts/autoscale';

/** The tag (AWS) or label (GCE) naming the Slurm node an instance was started as. */
export const SLURM_NODE_TAG = 'toil-ts:slurm-node';

/** Slurm's power-saving programs on the leader: small scripts that run `toil cluster-power`. */
export const POWER_PROGRAMS = {
  resume: '/usr/local/lib/toil-ts/slurm-resume',
  suspend: '/usr/local/lib/toil-ts/slurm-suspend',
  resumeFail: '/usr/local/lib/toil-ts/slurm-resume-fail',
} as const;

/**
 * The environment variables a login session on a node has for the cloud's API (region,
 * endpoints, project; on a real VM credentials come from the instance profile or the VM's
 * service account through the metadata server, not from these) that stage 2 keeps for the
 * power-saving programs, which Slurm runs without a login. `GOOGLE_APPLICATION_CREDENTIALS`
 * is a path: the file it names must be readable by Slurm's user.
 */
export const CLOUD_ENV_NAMES = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_EC2',
  'AWS_ENDPOINT_URL_IAM',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_EC2_METADATA_DISABLED',
  'TOIL_GCE_ENDPOINT',
  'TOIL_GCE_BILLING_ENDPOINT',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CLOUD_PROJECT',
] as const;

/** One elastic node group as the leader's power-saving programs see it. */
export interface ElasticGroupConfig extends ElasticGroup {
  /** The Slurm node names' prefix: the group's nodes are `<prefix>0` … `<prefix><max-1>`. */
  prefix: string;
  /** CPUs and memory (MiB) Slurm may hand out on one node of the group. */
  cpus: number;
  memoryMb: number;
}

/**
 * What the leader needs to grow and shrink its cluster, written by stage 2 as
 * `<AUTOSCALE_DIR>/config.json`. Holds no secret.
 */
export interface AutoscaleConfig {
  version: 1;
  clusterName: string;
  /** The provisioner name (`aws`). */
  provisioner: string;
  zone: string;
  /** Root disk of each node, GB. */
  nodeStorageGb: number;
  /** How long each phase of starting a node may take, seconds. */
  phaseTimeoutSeconds: number;
  /** Idle seconds before a node is terminated (Slurm's SuspendTime). */
  idleSeconds: number;
  groups: ElasticGroupConfig[];
}

/** The Slurm node name prefix of the `index`-th elastic group: `w0-`, `w1-`, … */
export function elasticPrefix(index: number): string {
  return `w${index}-`;
}

/**
 * The elastic groups of a spec with the size of their instance types (the smallest of
 * `a/b` types, since any may serve): 90% of the type's memory, what the system leaves.
 */
export function elasticGroupConfigs(
  groups: readonly ElasticGroup[],
  sizeOf: (instanceType: string) => { cpus: number; memoryMb: number },
): ElasticGroupConfig[] {
  return groups.map((group, index) => {
    const sizes = group.instanceTypes.map(sizeOf);
    return {
      ...group,
      prefix: elasticPrefix(index),
      cpus: Math.min(...sizes.map((s) => s.cpus)),
      memoryMb: Math.floor(Math.min(...sizes.map((s) => s.memoryMb)) * 0.9),
    };
  });
}

/**
 * The leader's autoscaling settings for a spec's elastic groups (undefined when it has none),
 * as every provisioner writes them: `sizeOf` gives an instance type's CPUs and memory from
 * the cloud's own description of it, `zone` is where the nodes start.
 */
export function autoscaleConfigFor(
  spec: Pick<
    ClusterSpec,
    'clusterName' | 'elastic' | 'nodeStorageGb' | 'phaseTimeoutSeconds' | 'nodeIdleSeconds'
  >,
  cloud: {
    /** The provisioner's name (`aws`, `gce`). */
    provisioner: string;
    zone: string;
    sizeOf: (instanceType: string) => { cpus: number; memoryMb: number };
  },
): AutoscaleConfig | undefined {
  if (spec.elastic.length === 0) return undefined;
  return {
    version: 1,
    clusterName: spec.clusterName,
    provisioner: cloud.provisioner,
    zone: cloud.zone,
    nodeStorageGb: spec.nodeStorageGb,
    phaseTimeoutSeconds: spec.phaseTimeoutSeconds,
    idleSeconds: spec.nodeIdleSeconds,
    groups: elasticGroupConfigs(spec.elastic, cloud.sizeOf),
  };
}

/** The cloud part of slurm.conf for an autoscaling cluster (see `renderSlurmConf`). */
export function slurmCloudSettings(config: AutoscaleConfig): NonNullable<SlurmConfInput['cloud']> {
  return {
    groups: config.groups.map((g, i): SlurmCloudGroup => ({
      prefix: g.prefix,
      count: g.max,
      alwaysOn: g.min,
      cpus: g.cpus,
      memoryMb: g.memoryMb,
      features: [...g.instanceTypes, `group${i}`, ...(g.spotBid === undefined ? [] : ['spot'])],
    })),
    power: {
      resumeProgram: POWER_PROGRAMS.resume,
      suspendProgram: POWER_PROGRAMS.suspend,
      resumeFailProgram: POWER_PROGRAMS.resumeFail,
      suspendTime: config.idleSeconds,
      // Starting an instance, its SSH, then stage 2's phases.
      resumeTimeout: Math.min(3600, Math.max(300, config.phaseTimeoutSeconds * 3)),
      // Terminating takes one API call; the name can be resumed again soon after.
      suspendTimeout: 30,
    },
  };
}

/** The elastic group a Slurm node name belongs to, and its number in the group. */
export function elasticNodeOf(
  config: AutoscaleConfig,
  name: string,
): { group: ElasticGroupConfig; groupIndex: number; index: number } | undefined {
  for (const [groupIndex, group] of config.groups.entries()) {
    if (!name.startsWith(group.prefix)) continue;
    const rest = name.slice(group.prefix.length);
    if (!/^\d+$/.test(rest)) continue;
    const index = Number(rest);
    if (index < group.max) return { group, groupIndex, index };
  }
  return undefined;
}

/**
 * Reads the leader's autoscaling settings.
 *
 * @throws ToilError `CLUSTER_STATE_INVALID` when there are none (not the leader of a cluster
 *   with elastic node groups) or they cannot be read.
 */
export function readAutoscaleConfig(path = `${AUTOSCALE_DIR}/config.json`): AutoscaleConfig {
  let config: AutoscaleConfig;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as AutoscaleConfig;
  } catch (error) {
    throw new ToilError(
      'CLUSTER_STATE_INVALID',
      `No autoscaling settings at ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'this is not the leader of a cluster with elastic node groups' : (error as Error).message}.`,
      {
        hint: 'Elastic node groups come from toil launch-cluster ... --nodeTypes TYPE -w MIN-MAX; run this on its leader.',
        cause: error,
      },
    );
  }
  if (config?.version !== 1 || !Array.isArray(config.groups) || !config.clusterName)
    throw new ToilError(
      'CLUSTER_STATE_INVALID',
      `The autoscaling settings at ${path} are not valid.`,
      {
        hint: 'Launch the cluster again with this version of toil.',
      },
    );
  return config;
}
