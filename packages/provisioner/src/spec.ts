import { z } from 'zod';
import { ToilError } from '@toil/core';
import './errors.js';
import { MAX_CLUSTER_NAME_LENGTH } from './names.js';
import type { WorkerGroup, WorkerNodeType } from './node-types.js';

export type { WorkerGroup, WorkerNodeType } from './node-types.js';

const nodeTypeFields = {
  instanceTypes: z.array(z.string().min(1)).min(1),
  spotBid: z.number().positive().finite().optional(),
};

/** Where stage 2 gets this CLI from on the nodes. */
export const ToilPackageSourceSchema = z.discriminatedUnion('kind', [
  /** `npm install -g @toil/cli@<version>` from the npm registry (the default). */
  z.object({ kind: z.literal('registry'), version: z.string().min(1) }),
  /**
   * A self-contained install of `@toil/cli` (a directory with `dist/` and `node_modules/`, as
   * `pnpm deploy` makes it, or a `.tgz` of one) pushed from this machine over SFTP, for
   * unreleased builds and nodes that cannot reach a registry. `version` is the launcher's.
   */
  z.object({ kind: z.literal('bundle'), path: z.string().min(1), version: z.string().min(1) }),
]);

/** Where stage 2 gets this CLI from. */
export type ToilPackageSource = z.infer<typeof ToilPackageSourceSchema>;

/**
 * The cluster spec: everything `launch-cluster` needs, already parsed and checked by the
 * CLI (node types, counts, tags, name). A provisioner takes it as is; its own checks against
 * the cloud (instance types, key pair, subnet) come after.
 */
export const ClusterSpecSchema = z.object({
  clusterName: z
    .string()
    .regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/)
    .max(MAX_CLUSTER_NAME_LENGTH),
  /** The provisioner name (`aws`, `gce`). */
  provisioner: z.string().min(1),
  zone: z.string().min(1),
  leaderNodeType: z.string().min(1),
  /** AWS key pair name; on GCE the SSH user and key name. */
  keyPairName: z.string().min(1),
  owner: z.string().min(1),
  /** Tags (AWS) or labels (GCE) for every resource, already including Name/Owner/clusterName. */
  tags: z.record(z.string(), z.string()),
  /** Worker groups with a fixed count each (count 0 groups are dropped by `pairWorkers`). */
  workers: z.array(z.object({ ...nodeTypeFields, count: z.number().int().positive() })).default([]),
  /**
   * Elastic groups (`-w MIN-MAX`): Slurm cloud nodes the leader starts when jobs wait for them
   * and terminates when they sit idle ({@link nodeIdleSeconds}).
   */
  elastic: z
    .array(
      z.object({
        ...nodeTypeFields,
        min: z.number().int().nonnegative(),
        max: z.number().int().positive(),
      }),
    )
    .default([]),
  /** How long a node of an elastic group may sit idle before it is terminated (Slurm's SuspendTime). */
  nodeIdleSeconds: z.number().int().positive().default(300),
  leaderStorageGb: z.number().int().positive().default(50),
  nodeStorageGb: z.number().int().positive().default(50),
  /** The leader's subnet (AWS) / subnetwork (GCE). */
  subnet: z.string().min(1).optional(),
  /** GCE network. */
  network: z.string().min(1).optional(),
  /** GCE: whether nodes get an external address (`false`: internal addresses only). */
  externalAddress: z.boolean().default(true),
  /** An instance profile to use instead of creating a role and profile (AWS). */
  instanceProfileArn: z.string().min(1).optional(),
  /** Extra security groups for the leader (AWS). */
  extraSecurityGroupIds: z.array(z.string().min(1)).default([]),
  /** Where SSH may come from. */
  sshCidr: z.string().min(1).default('0.0.0.0/0'),
  /** The login user stage 1 makes on every node. */
  sshUser: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
    .default('toil'),
  /** The launcher's public key (one OpenSSH line), installed for {@link sshUser} by stage 1. */
  sshPublicKey: z.string().regex(/^(ssh-|ecdsa-|sk-)\S+ \S+/),
  /** The launcher's private key file, for stage 2 over SSH (never sent anywhere). */
  sshPrivateKeyPath: z.string().min(1).optional(),
  /** Where stage 2 gets this CLI from. */
  toilPackage: ToilPackageSourceSchema,
  /** How long each launch phase (instance running, host keys, SSH, stage 2) may take. */
  phaseTimeoutSeconds: z.number().positive().default(600),
  /**
   * `full`: both bootstrap stages (the node is ready for toil); `none`: cloud resources only,
   * the launch ends when the instances run (for checking cloud permissions and quotas).
   */
  bootstrap: z.enum(['full', 'none']).default('full'),
  /** Report the plan and create nothing. */
  dryRun: z.boolean().default(false),
});

/** The parsed cluster spec (see {@link ClusterSpecSchema}). */
export type ClusterSpec = z.infer<typeof ClusterSpecSchema>;
/** The cluster spec before defaults are applied. */
export type ClusterSpecInput = z.input<typeof ClusterSpecSchema>;

/**
 * Validates a cluster spec and applies its defaults.
 *
 * @throws ToilError `CLUSTER_SPEC_INVALID` naming the first bad field.
 */
export function parseClusterSpec(input: ClusterSpecInput): ClusterSpec {
  const result = ClusterSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || 'spec';
  throw new ToilError('CLUSTER_SPEC_INVALID', `Invalid cluster spec: ${field}: ${issue.message}`, {
    hint: 'Check the launch-cluster options.',
    data: { field },
  });
}

/** The node types a spec uses, leader first (for checking them against the cloud). */
export function specInstanceTypes(
  spec: Pick<ClusterSpec, 'leaderNodeType' | 'workers'> & Partial<Pick<ClusterSpec, 'elastic'>>,
): string[] {
  const names = [
    spec.leaderNodeType,
    ...spec.workers.flatMap((w: WorkerGroup) => w.instanceTypes),
    ...(spec.elastic ?? []).flatMap((g) => g.instanceTypes),
  ];
  return [...new Set(names)];
}

/** True when a node type is spot / preemptible. */
export function isPreemptible(type: WorkerNodeType): boolean {
  return type.spotBid !== undefined;
}
