import { createHash } from 'node:crypto';
import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  type Instance,
  type SecurityGroup,
  type SpotInstanceRequest,
  type Tag,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import {
  CLUSTER_NAME_TAG,
  NODE_ROLE_TAG,
  SSH_USER_TAG,
  hostKeysFromTags,
  type ClusterNode,
  type ClusterResource,
  type NodeState,
} from '@toil/provisioner';
import { awsErrorCode, chunks, toAwsError, type AwsClients } from './aws.js';

/** Instance states that still hold resources (everything but `terminated`). */
export const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** The name of the security group toil creates for a cluster. */
export function securityGroupName(clusterName: string): string {
  return `toil-${clusterName}`;
}

/**
 * The name of the IAM role and instance profile toil creates for a cluster. IAM is global,
 * so the region is in the name (as a short hash, to stay within IAM's 64 characters).
 */
export function iamName(clusterName: string, region: string): string {
  return `toil-${clusterName}-${createHash('sha256').update(region).digest('hex').slice(0, 6)}`;
}

/** Tags as a plain object. */
export function tagMap(tags: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** Tags in the SDK's form. */
export function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

const STATES: Record<string, NodeState> = {
  pending: 'pending',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  'shutting-down': 'terminating',
  terminated: 'terminated',
};

/** The contract's node record for an EC2 instance. */
export function toClusterNode(instance: Instance): ClusterNode {
  const tags = tagMap(instance.Tags);
  return {
    id: instance.InstanceId!,
    name: tags.Name ?? instance.InstanceId!,
    clusterName: tags[CLUSTER_NAME_TAG] ?? '',
    role: tags[NODE_ROLE_TAG] === 'leader' ? 'leader' : 'worker',
    nodeType: instance.InstanceType ?? 'unknown',
    preemptible: instance.InstanceLifecycle === 'spot',
    state: STATES[instance.State?.Name ?? ''] ?? 'unknown',
    ...(instance.PrivateIpAddress ? { privateAddress: instance.PrivateIpAddress } : {}),
    ...(instance.PublicIpAddress ? { publicAddress: instance.PublicIpAddress } : {}),
    sshUser: tags[SSH_USER_TAG] ?? 'toil',
    hostKeys: hostKeysFromTags(tags),
    launchTime: instance.LaunchTime ? Math.floor(instance.LaunchTime.getTime() / 1000) : 0,
    ...(instance.Placement?.AvailabilityZone ? { zone: instance.Placement.AvailabilityZone } : {}),
    tags,
  };
}

/** Leader first, then by launch time and id. */
export function sortNodes(nodes: ClusterNode[]): ClusterNode[] {
  return nodes.sort(
    (a, b) =>
      (a.role === 'leader' ? 0 : 1) - (b.role === 'leader' ? 0 : 1) ||
      a.launchTime - b.launchTime ||
      a.id.localeCompare(b.id),
  );
}

/** Instances matching the filters, every page. */
export async function describeInstances(
  clients: AwsClients,
  input: { Filters?: { Name: string; Values: string[] }[]; InstanceIds?: string[] },
): Promise<Instance[]> {
  const out: Instance[] = [];
  let NextToken: string | undefined;
  do {
    const page = await clients.ec2
      .send(
        new DescribeInstancesCommand({
          ...input,
          ...(input.InstanceIds ? {} : { MaxResults: 1000 }),
          NextToken,
        }),
      )
      .catch((e: unknown) => {
        throw toAwsError(e, 'DescribeInstances');
      });
    for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** The live instances of a cluster (any state but terminated), found by tag. */
export function clusterInstances(clients: AwsClients, clusterName: string): Promise<Instance[]> {
  return describeInstances(clients, {
    Filters: [
      { Name: `tag:${CLUSTER_NAME_TAG}`, Values: [clusterName] },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ],
  });
}

/** Everything of one cluster that exists in the cloud now. */
export interface ClusterInventory {
  instances: Instance[];
  spotRequests: SpotInstanceRequest[];
  securityGroups: SecurityGroup[];
  /** The IAM role toil created, when it exists (and is tagged with this cluster). */
  role?: string;
  /** The instance profile toil created, when it exists. */
  instanceProfile?: { name: string; roles: string[] };
}

/** True when nothing of the cluster is left. */
export function isEmpty(inventory: ClusterInventory): boolean {
  return (
    inventory.instances.length === 0 &&
    inventory.spotRequests.length === 0 &&
    inventory.securityGroups.length === 0 &&
    inventory.role === undefined &&
    inventory.instanceProfile === undefined
  );
}

/** The inventory as a list of resources, in the order destroy deletes them. */
export function inventoryResources(inventory: ClusterInventory): ClusterResource[] {
  const leaderFirst = [...inventory.instances].sort(
    (a, b) =>
      (tagMap(a.Tags)[NODE_ROLE_TAG] === 'leader' ? 0 : 1) -
      (tagMap(b.Tags)[NODE_ROLE_TAG] === 'leader' ? 0 : 1),
  );
  return [
    ...inventory.spotRequests.map((s) => ({
      kind: 'spot-request',
      id: s.SpotInstanceRequestId!,
      detail: s.State,
    })),
    ...leaderFirst.map((i) => ({
      kind: 'instance',
      id: i.InstanceId!,
      detail: `${tagMap(i.Tags)[NODE_ROLE_TAG] ?? 'worker'}, ${i.InstanceType}, ${i.State?.Name}`,
    })),
    ...inventory.securityGroups.map((g) => ({
      kind: 'security-group',
      id: g.GroupId!,
      detail: g.GroupName,
    })),
    ...(inventory.instanceProfile
      ? [{ kind: 'instance-profile', id: inventory.instanceProfile.name }]
      : []),
    ...(inventory.role ? [{ kind: 'iam-role', id: inventory.role }] : []),
  ];
}

async function getIam<T>(fn: () => Promise<T>, operation: string): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (awsErrorCode(error) === 'NoSuchEntity' || awsErrorCode(error) === 'NoSuchEntityException')
      return undefined;
    throw toAwsError(error, operation);
  }
}

/**
 * Finds everything of a cluster by tag: live instances (and instances of its spot requests
 * even if their tags never arrived), open or active spot requests, its security groups, and
 * the IAM role and instance profile toil made for it. Never reads a local file.
 */
export async function findCluster(
  clients: AwsClients,
  clusterName: string,
): Promise<ClusterInventory> {
  const tagFilter = { Name: `tag:${CLUSTER_NAME_TAG}`, Values: [clusterName] };
  const name = iamName(clusterName, clients.region);
  const [instances, spots, groups, role, profile] = await Promise.all([
    clusterInstances(clients, clusterName),
    clients.ec2
      .send(
        new DescribeSpotInstanceRequestsCommand({
          Filters: [tagFilter, { Name: 'state', Values: ['open', 'active', 'disabled'] }],
        }),
      )
      .catch((e: unknown) => {
        throw toAwsError(e, 'DescribeSpotInstanceRequests');
      }),
    clients.ec2
      .send(new DescribeSecurityGroupsCommand({ Filters: [tagFilter] }))
      .catch((e: unknown) => {
        throw toAwsError(e, 'DescribeSecurityGroups');
      }),
    getIam(() => clients.iam.send(new GetRoleCommand({ RoleName: name })), 'GetRole'),
    getIam(
      () => clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })),
      'GetInstanceProfile',
    ),
  ]);
  const spotRequests = spots.SpotInstanceRequests ?? [];
  const known = new Set(instances.map((i) => i.InstanceId));
  const untagged = spotRequests
    .map((s) => s.InstanceId)
    .filter((id): id is string => !!id && !known.has(id));
  for (const batch of chunks(untagged, 1000))
    instances.push(
      ...(await describeInstances(clients, { InstanceIds: batch })).filter((i) =>
        LIVE_STATES.includes(i.State?.Name ?? ''),
      ),
    );
  const roleTags = tagMap(role?.Role?.Tags);
  const ours = roleTags[CLUSTER_NAME_TAG] === clusterName;
  return {
    instances,
    spotRequests,
    securityGroups: groups.SecurityGroups ?? [],
    ...(role?.Role && ours ? { role: name } : {}),
    ...(profile?.InstanceProfile &&
    (ours || tagMap(profile.InstanceProfile.Tags)[CLUSTER_NAME_TAG] === clusterName)
      ? {
          instanceProfile: {
            name,
            roles: (profile.InstanceProfile.Roles ?? []).map((r) => r.RoleName!),
          },
        }
      : {}),
  };
}
