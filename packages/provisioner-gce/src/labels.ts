import type {
  ClusterNode,
  HostKeyFingerprint,
  NodeLifetime,
  NodeRole,
  NodeState,
} from '@toil/provisioner';

/** The label that names an instance's or disk's cluster; clusters are found by it. */
export const CLUSTER_LABEL = 'toil-cluster';
/** The label that says a node's role: `leader` or `worker`. */
export const ROLE_LABEL = 'toil-role';
/** The label holding the login user stage 1 made. */
export const SSH_USER_LABEL = 'toil-ssh-user';
/** The label on every resource toil-ts created. */
export const CREATED_BY_LABEL = 'toil-created-by';
/** Metadata key holding the cluster's tags exactly as given (labels are lowercase only). */
export const TAGS_METADATA_KEY = 'toil-tags';
/** Metadata key holding the host keys pinned at launch (JSON list). */
export const HOST_KEYS_METADATA_KEY = 'toil-host-keys';
/**
 * Metadata key on the leader holding the lifetimes of the workers deleted so far (JSON list
 * of `[machine type, launched, ended]`, epoch seconds), for the cluster's node-hours.
 */
export const NODE_LIFETIMES_METADATA_KEY = 'toil-node-lifetimes';

/** A label key or value as Compute Engine accepts it: lowercase, `[a-z0-9_-]`, at most 63. */
export function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

function labelKey(text: string): string {
  const value = labelValue(text);
  return /^[a-z]/.test(value) ? value : `t${value}`.slice(0, 63);
}

/**
 * The labels of a cluster's resources: the user's tags made label-safe (the exact tags are
 * kept in the `toil-tags` metadata), the cluster name, the owner and `toil-created-by`. The
 * `Name` tag is left out: on GCE the instance name is the name.
 */
export function clusterLabels(
  clusterName: string,
  tags: Record<string, string>,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (key === 'Name' || key === 'clusterName') continue;
    labels[labelKey(key)] = labelValue(value);
  }
  labels[CLUSTER_LABEL] = clusterName;
  labels[CREATED_BY_LABEL] = 'toil-ts';
  return labels;
}

/** The contract's state words for Compute Engine's instance states. */
export function nodeState(status: string | null | undefined): NodeState {
  switch (status) {
    case 'PROVISIONING':
    case 'STAGING':
      return 'pending';
    case 'RUNNING':
      return 'running';
    case 'STOPPING':
    case 'SUSPENDING':
      return 'stopping';
    case 'SUSPENDED':
    case 'TERMINATED':
      return 'stopped';
    default:
      return 'unknown';
  }
}

function metadataValue(instance: any, key: string): string | undefined {
  const item = (instance.metadata?.items ?? []).find((i: any) => i.key === key);
  return item?.value ?? undefined;
}

/** The worker lifetimes recorded in a leader's metadata ({@link NODE_LIFETIMES_METADATA_KEY}). */
export function nodeLifetimes(instance: any): NodeLifetime[] {
  const raw = metadataValue(instance, NODE_LIFETIMES_METADATA_KEY);
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((e): e is [string, number, number] => Array.isArray(e) && e.length === 3)
      .map(([nodeType, launched, ended]) => ({ nodeType, launched, ended }));
  } catch {
    return [];
  }
}

/** The metadata value of lifetimes, as {@link nodeLifetimes} reads it. */
export function formatNodeLifetimes(lives: readonly NodeLifetime[]): string {
  return JSON.stringify(lives.map((l) => [l.nodeType, l.launched, l.ended ?? l.launched]));
}

/** The host keys pinned in an instance's metadata. */
export function pinnedHostKeys(instance: any): HostKeyFingerprint[] {
  const raw = metadataValue(instance, HOST_KEYS_METADATA_KEY);
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw) as HostKeyFingerprint[];
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function lastSegment(url: string | null | undefined): string {
  return (url ?? '').split('/').filter(Boolean).pop() ?? '';
}

/** A {@link ClusterNode} from a Compute Engine instance. */
export function nodeFromInstance(instance: any): ClusterNode {
  const labels: Record<string, string> = { ...(instance.labels ?? {}) };
  let tags: Record<string, string> = labels;
  const rawTags = metadataValue(instance, TAGS_METADATA_KEY);
  if (rawTags) {
    try {
      tags = { ...labels, ...(JSON.parse(rawTags) as Record<string, string>) };
    } catch {
      // keep the labels
    }
  }
  const nic = instance.networkInterfaces?.[0];
  const natIP = nic?.accessConfigs?.find((a: any) => a.natIP)?.natIP;
  return {
    id: String(instance.id),
    name: String(instance.name),
    clusterName: labels[CLUSTER_LABEL] ?? '',
    role: (labels[ROLE_LABEL] === 'leader' ? 'leader' : 'worker') as NodeRole,
    nodeType: lastSegment(instance.machineType),
    preemptible: Boolean(instance.scheduling?.preemptible),
    state: nodeState(instance.status),
    ...(nic?.networkIP ? { privateAddress: String(nic.networkIP) } : {}),
    ...(natIP ? { publicAddress: String(natIP) } : {}),
    sshUser: labels[SSH_USER_LABEL] ?? 'toil',
    hostKeys: pinnedHostKeys(instance),
    launchTime: Math.floor(Date.parse(String(instance.creationTimestamp)) / 1000),
    zone: lastSegment(instance.zone),
    tags,
  };
}
