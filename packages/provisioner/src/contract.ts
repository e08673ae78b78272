import type { IoHost } from '@toil/core';
import type { NodeCost } from '@toil/batch-system';
import type { ClusterSpec, ToilPackageSource, WorkerNodeType } from './spec.js';

/** What a node does in its cluster. */
export type NodeRole = 'leader' | 'worker';

/** A node's lifecycle state, the same words for every cloud. */
export type NodeState =
  'pending' | 'running' | 'stopping' | 'stopped' | 'terminating' | 'terminated' | 'unknown';

/**
 * One SSH host key a node printed on its console at first boot (stage 1 of the bootstrap),
 * pinned by the launcher so that later connections can check the node's identity.
 */
export interface HostKeyFingerprint {
  /** The key's algorithm as OpenSSH names it, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`. */
  algorithm: string;
  /** The fingerprint as `ssh-keygen -l -E sha256` prints it: `SHA256:` + unpadded base64. */
  sha256: string;
}

/**
 * A node of a cluster, as every provisioner reports it. Built from the cloud's own records
 * (tags or labels), never from a local file.
 */
export interface ClusterNode {
  /** The cloud's id for the instance (`i-0abc…` on AWS, the instance id on GCE). */
  id: string;
  /** The instance's name (the `Name` tag on AWS, the instance name on GCE). */
  name: string;
  /** The cluster the node belongs to. */
  clusterName: string;
  role: NodeRole;
  /** The instance type / machine type. */
  nodeType: string;
  /** True for spot (AWS) or preemptible / spot (GCE) nodes. */
  preemptible: boolean;
  state: NodeState;
  /** The address inside the cluster's network. */
  privateAddress?: string;
  /** The public address, when the node has one. */
  publicAddress?: string;
  /** The user to log in as over SSH (made by stage 1 of the bootstrap). */
  sshUser: string;
  /** Host keys pinned at launch; empty when the node was never seen booting. */
  hostKeys: HostKeyFingerprint[];
  /** When the node was launched, in epoch seconds. */
  launchTime: number;
  /** The node's zone. */
  zone?: string;
  /** Every tag (AWS) or label (GCE) on the node. */
  tags: Record<string, string>;
}

/** The address to reach a node at: the public one when it has one, else the private one. */
export function nodeAddress(node: ClusterNode): string | undefined {
  return node.publicAddress ?? node.privateAddress;
}

/** A cluster found by its tags, as `listClusters` reports it. */
export interface ClusterSummary {
  name: string;
  /** The provisioner that found it (`aws`, `gce`). */
  provisioner: string;
  /** The zone of the leader (or of the first node when there is no leader). */
  zone?: string;
  /** The leader, when one was found. */
  leader?: { id: string; state: NodeState; privateAddress?: string; publicAddress?: string };
  owner?: string;
  /** The leader's launch time (else the earliest node's), epoch seconds. */
  launchTime?: number;
  /** Nodes by type and state: `{ 't2.micro': { running: 2 } }`. */
  nodes: Record<string, Partial<Record<NodeState, number>>>;
  /** Total count of nodes not terminated. */
  nodeCount: number;
}

/** One resource a destroy deletes (or would delete with `dryRun`), or found left over. */
export interface ClusterResource {
  /** Kind of resource: `instance`, `spot-request`, `security-group`, `iam-role`, … */
  kind: string;
  /** The cloud's id or name for it. */
  id: string;
  /** Extra facts: the instance's state, the role's policies, … */
  detail?: string;
}

/** What `destroyCluster` did. */
export interface DestroyReport {
  clusterName: string;
  /** True when nothing of that name was found (not an error: destroy is idempotent). */
  notFound: boolean;
  /** True when nothing was deleted because `dryRun` was set. */
  dryRun: boolean;
  /** Resources deleted (or, with `dryRun`, that would be deleted), in deletion order. */
  deleted: ClusterResource[];
  /** Resources found when looking again after the deletions; empty when the cluster is gone. */
  remaining: ClusterResource[];
  /** API calls made, by operation name (for benchmarks and `--logLevel debug`). */
  apiCalls: Record<string, number>;
  /**
   * The hours the cluster's instances ran, as far as the cloud still lists them (absent for a
   * dry run or a cluster not found): every instance destroyed now counts until now; instances
   * terminated earlier (nodes a cluster shrank by) count while the cloud lists them (EC2:
   * about an hour after termination; Compute Engine: not at all).
   */
  nodeHours?: NodeHours;
  /**
   * What those hours cost at the cloud's prices (`hourlyPrice` per type and kind; spot
   * instances at the spot price when they started); types without a price are listed
   * without one. Absent where {@link DestroyReport.nodeHours} is.
   */
  cost?: NodeCost;
}

/**
 * An instance type's hourly price from the cloud's API (US dollars), or why there is none
 * (`usdPerHour` absent, `noPrice` says why). Never an estimate of ours.
 */
export interface HourlyPrice {
  usdPerHour?: number;
  /** Why the cloud's API gave no price (e.g. it does not serve prices). */
  noPrice?: string;
}

/** Hours instances ran, in total and by instance type. */
export interface NodeHours {
  total: number;
  /** How many instances are counted. */
  nodes: number;
  byType: Record<string, number>;
}

/** What `launchCluster` did. */
export interface LaunchResult {
  clusterName: string;
  dryRun: boolean;
  /** The leader (absent for a dry run). */
  leader?: ClusterNode;
  /** The workers that were started. */
  workers: ClusterNode[];
  /** With `dryRun`: what would be created, in order. Otherwise: what was created. */
  resources: ClusterResource[];
  /** API calls made, by operation name. */
  apiCalls: Record<string, number>;
}

/** Options of {@link Provisioner.destroyCluster}. */
export interface DestroyOptions {
  /** Report what would be deleted and delete nothing. */
  dryRun?: boolean;
}

/** Options of {@link Provisioner.addNodes}. */
export interface AddNodesOptions {
  /** A spot (preemptible) bid in USD per hour; on-demand when absent. */
  spotBid?: number;
  /** Root disk size in GB (default 50). */
  storageGb?: number;
  /** The public key stage 1 installs for the login user (one OpenSSH line). */
  sshPublicKey: string;
  /**
   * `full` (default): once they run, the new nodes get stage 2 and join the cluster's Slurm
   * (every node's slurm.conf is rewritten); `host-keys`: they run and their host keys are
   * pinned, ready for the caller's own stage 2 (the leader's power saving, `joinCloudNodes`);
   * `none`: cloud resources only.
   */
  bootstrap?: 'full' | 'host-keys' | 'none';
  /** The login user's numeric id on the new nodes (the leader's, for Slurm), when it matters. */
  sshUid?: number;
  /** Extra tags (AWS) or labels (GCE) for the new nodes, e.g. the Slurm node name. */
  tags?: Record<string, string>;
  /** Where stage 2 gets this CLI from; required with `bootstrap: 'full'`. */
  toilPackage?: ToilPackageSource;
  /** The private key matching {@link sshPublicKey}, for stage 2 (else the agent or `~/.ssh`). */
  sshPrivateKeyPath?: string;
  /** How long each phase may take, seconds (default 600). */
  phaseTimeoutSeconds?: number;
}

/**
 * The contract every cloud implements and the CLI composes. A provisioner is made for one
 * zone (see {@link ProvisionerConfig}); clusters are found by their tags or labels, so any
 * machine with credentials can list, reach or destroy a cluster another machine launched.
 *
 * Implementations report progress through the host in their config and throw `ToilError`s:
 * `CLUSTER_NOT_FOUND`, `CLOUD_CREDENTIALS`, `LAUNCH_FAILED`, `DESTROY_INCOMPLETE`, …
 */
export interface Provisioner {
  /** The provisioner's name as `--provisioner` spells it. */
  readonly name: string;
  /** The zone it works in. */
  readonly zone: string;
  /**
   * Creates the cluster's network rules and identity, the leader, runs both bootstrap stages
   * on it, then the workers. With `spec.dryRun` nothing is created and the plan is returned.
   */
  launchCluster(spec: ClusterSpec): Promise<LaunchResult>;
  /**
   * Deletes everything tagged with the cluster's name, in a safe order, then looks again.
   * Resolves (with `notFound`) when there is no such cluster; throws `DESTROY_INCOMPLETE`
   * (with the report in `data`) when something remains.
   */
  destroyCluster(clusterName: string, options?: DestroyOptions): Promise<DestroyReport>;
  /** The clusters found by tag in the provisioner's region (or project). */
  listClusters(): Promise<ClusterSummary[]>;
  /** The cluster's leader: the node tagged leader; throws `CLUSTER_NOT_FOUND` when none. */
  getLeader(clusterName: string): Promise<ClusterNode>;
  /** Every node of the cluster that is not terminated, leader first. */
  listNodes(clusterName: string): Promise<ClusterNode[]>;
  /**
   * Starts `count` workers of one node type (`spotBid` makes them spot / preemptible) and
   * resolves once they run and (unless `bootstrap: 'none'`) stage 2 has made them Slurm
   * workers of the cluster.
   */
  addNodes(
    clusterName: string,
    nodeType: WorkerNodeType,
    count: number,
    options: AddNodesOptions,
  ): Promise<ClusterNode[]>;
  /** Terminates these nodes of the cluster (ids of other clusters are refused). */
  terminateNodes(clusterName: string, ids: readonly string[]): Promise<void>;
  /**
   * The hourly price of an instance type from the cloud's API: for `spot`, the spot
   * (preemptible) price in the zone at `at` (epoch seconds; default now), else the on-demand
   * price. Resolves with `noPrice` (never throws) when the API gives none.
   */
  hourlyPrice?(
    nodeType: string,
    options: { spot: boolean; zone?: string; at?: number },
  ): Promise<HourlyPrice>;
}

/** What a provisioner is made from. */
export interface ProvisionerConfig {
  /** The zone (`--zone`), already defaulted from `TOIL_<NAME>_ZONE` by {@link resolveZone}. */
  zone?: string;
  /**
   * The cloud project (`--project`), for clouds that have projects (GCE); `loadProvisioner`
   * refuses it for the others.
   */
  project?: string;
  /** Where progress and warnings go. */
  host: IoHost;
  /** The environment to read settings from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * What a provisioner package (`@toil/provisioner-aws`, `@toil/provisioner-gce`) exports for
 * {@link loadProvisioner}.
 */
export interface ProvisionerModule {
  /** Makes the provisioner; may check the zone and credentials' presence, never the network. */
  createProvisioner(config: ProvisionerConfig): Provisioner | Promise<Provisioner>;
}
