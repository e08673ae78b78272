import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { ToilError, type IoHost } from '@toil/core';
import {
  CLUSTER_NAME_TAG,
  CREATED_BY_TAG,
  NODE_ROLE_TAG,
  addNodesStage2,
  checkClusterName,
  joinAddedNodes,
  renderStage1UserData,
  type AddNodesOptions,
  type ClusterNode,
  type ClusterSpec,
  type ClusterSummary,
  type DestroyOptions,
  type DestroyReport,
  type HourlyPrice,
  type LaunchResult,
  type NodeState,
  type Provisioner,
  type ProvisionerConfig,
  type Stage2Runner,
  type WorkerNodeType,
} from '@toil/provisioner';
import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand } from '@aws-sdk/client-iam';
import { chunks, makeClients, toAwsError, zoneToRegion, type AwsClients } from './aws.js';
import { destroyCluster, type DestroyTiming } from './destroy.js';
import {
  LIVE_STATES,
  clusterInstances,
  describeInstances,
  iamName,
  sortNodes,
  tagMap,
  toClusterNode,
} from './inventory.js';
import { defaultStage2, launchCluster, pinHostKeys, startWorkers, waitRunning } from './launch.js';
import { AwsPrices } from './prices.js';

/** Options of the AWS provisioner beyond the contract's config. */
export interface AwsProvisionerOptions extends ProvisionerConfig {
  /** Runs stage 2 of the bootstrap (default: `runStage2` over `@toil/cluster-ssh`). */
  stage2?: Stage2Runner;
  /** First poll delay while waiting for the cloud, ms (default 2000). */
  pollMs?: number;
  /** Destroy's retry budget (default 300 s per deletion, first retry after 1 s). */
  destroyTiming?: Partial<DestroyTiming>;
}

/**
 * The region a provisioner works in: the zone's region, else `TOIL_AWS_REGION`,
 * `AWS_REGION` or `AWS_DEFAULT_REGION`.
 *
 * @throws ToilError `ZONE_MISSING` when there is none, `ZONE_INVALID` for a bad zone.
 */
export function resolveRegion(zone: string | undefined, env: NodeJS.ProcessEnv): string {
  if (zone) return zoneToRegion(zone);
  const region = env.TOIL_AWS_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (region) return region;
  throw new ToilError(
    'ZONE_MISSING',
    'No AWS zone or region: give --zone or set TOIL_AWS_ZONE (or AWS_REGION).',
    { hint: 'For example: --zone us-west-2a' },
  );
}

/**
 * The AWS provisioner: EC2 instances, a security group and an IAM role and instance profile
 * per cluster, every one tagged `clusterName=<name>` and found by that tag.
 */
export class AwsProvisioner implements Provisioner {
  readonly name = 'aws';
  /** The zone, or the region when only a region is known (list, destroy). */
  readonly zone: string;
  readonly region: string;
  /** The clients and their call counts (for benchmarks). */
  readonly clients: AwsClients;
  private readonly host: IoHost;
  private readonly env: NodeJS.ProcessEnv;
  private readonly stage2: Stage2Runner;
  private readonly prices: AwsPrices;

  constructor(private readonly options: AwsProvisionerOptions) {
    this.env = options.env ?? process.env;
    this.host = options.host;
    this.stage2 = options.stage2 ?? defaultStage2(options.host);
    this.region = resolveRegion(options.zone, this.env);
    this.zone = options.zone ?? this.region;
    this.clients = makeClients(this.region, this.host);
    this.prices = new AwsPrices(this.clients);
  }

  hourlyPrice(
    nodeType: string,
    options: { spot: boolean; zone?: string; at?: number },
  ): Promise<HourlyPrice> {
    return this.prices.hourlyPrice(nodeType, options);
  }

  launchCluster(spec: ClusterSpec): Promise<LaunchResult> {
    return launchCluster(spec, {
      clients: this.clients,
      host: this.host,
      env: this.env,
      stage2: this.stage2,
      ...(this.options.pollMs === undefined ? {} : { pollMs: this.options.pollMs }),
    });
  }

  destroyCluster(clusterName: string, options: DestroyOptions = {}): Promise<DestroyReport> {
    checkClusterName(clusterName);
    return destroyCluster(this.clients, this.host, clusterName, {
      ...options,
      prices: this.prices,
      ...(this.options.destroyTiming ? { timing: this.options.destroyTiming } : {}),
    });
  }

  async listClusters(): Promise<ClusterSummary[]> {
    const [instances, groups] = await Promise.all([
      describeInstances(this.clients, {
        Filters: [
          { Name: 'tag-key', Values: [CLUSTER_NAME_TAG] },
          { Name: 'instance-state-name', Values: LIVE_STATES },
        ],
      }),
      this.clients.ec2
        .send(
          new DescribeSecurityGroupsCommand({
            Filters: [{ Name: 'tag-key', Values: [CREATED_BY_TAG] }],
          }),
        )
        .catch((e: unknown) => {
          throw toAwsError(e, 'DescribeSecurityGroups');
        }),
    ]);
    const clusters = new Map<string, ClusterSummary>();
    const summary = (name: string): ClusterSummary => {
      let c = clusters.get(name);
      if (!c) clusters.set(name, (c = { name, provisioner: 'aws', nodes: {}, nodeCount: 0 }));
      return c;
    };
    for (const group of groups.SecurityGroups ?? []) {
      const tags = tagMap(group.Tags);
      const name = tags[CLUSTER_NAME_TAG];
      if (name) {
        const c = summary(name);
        if (tags.Owner) c.owner = tags.Owner;
      }
    }
    for (const node of sortNodes(instances.map(toClusterNode))) {
      if (!node.clusterName) continue;
      const c = summary(node.clusterName);
      const byState = (c.nodes[node.nodeType] ??= {});
      byState[node.state] = (byState[node.state] ?? 0) + 1;
      c.nodeCount += 1;
      if (node.tags.Owner) c.owner = node.tags.Owner;
      if (node.role === 'leader' && !c.leader) {
        c.leader = {
          id: node.id,
          state: node.state,
          ...(node.privateAddress ? { privateAddress: node.privateAddress } : {}),
          ...(node.publicAddress ? { publicAddress: node.publicAddress } : {}),
        };
        if (node.zone) c.zone = node.zone;
        c.launchTime = node.launchTime;
      }
      if (c.launchTime === undefined || (!c.leader && node.launchTime < c.launchTime))
        c.launchTime = node.launchTime;
      if (!c.zone && node.zone) c.zone = node.zone;
    }
    return [...clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async listNodes(clusterName: string): Promise<ClusterNode[]> {
    checkClusterName(clusterName);
    return sortNodes((await clusterInstances(this.clients, clusterName)).map(toClusterNode));
  }

  async getLeader(clusterName: string): Promise<ClusterNode> {
    const nodes = await this.listNodes(clusterName);
    const leader = nodes.find((n) => n.role === 'leader');
    if (leader) return leader;
    if (nodes.length === 0)
      throw new ToilError(
        'CLUSTER_NOT_FOUND',
        `The cluster '${clusterName}' could not be found in ${this.region}.`,
        {
          hint: 'List the clusters of a region with: toil list-clusters --zone ZONE',
        },
      );
    throw new ToilError(
      'CLUSTER_STATE_INVALID',
      `The cluster '${clusterName}' has ${nodes.length} node(s) but none is tagged ${NODE_ROLE_TAG}=leader.`,
      {
        hint: `The safest recovery is to destroy the cluster (toil destroy-cluster ${clusterName}) and launch it again.`,
      },
    );
  }

  async addNodes(
    clusterName: string,
    nodeType: WorkerNodeType,
    count: number,
    options: AddNodesOptions,
  ): Promise<ClusterNode[]> {
    const stage2 = addNodesStage2(options);
    const leader = await this.getLeader(clusterName);
    const type =
      options.spotBid === undefined ? nodeType : { ...nodeType, spotBid: options.spotBid };
    const [subnets, groups, profile] = await Promise.all([
      this.clients.ec2.send(
        new DescribeSubnetsCommand({
          Filters: [{ Name: 'availability-zone', Values: [leader.zone ?? this.zone] }],
        }),
      ),
      this.clients.ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [{ Name: `tag:${CLUSTER_NAME_TAG}`, Values: [clusterName] }],
        }),
      ),
      this.clients.iam
        .send(
          new GetInstanceProfileCommand({ InstanceProfileName: iamName(clusterName, this.region) }),
        )
        .catch(() => undefined),
    ]).catch((e: unknown) => {
      throw toAwsError(e, 'addNodes');
    });
    const leaderInstance = (await describeInstances(this.clients, { InstanceIds: [leader.id] }))[0];
    const subnet =
      subnets.Subnets?.find((s) => s.SubnetId === leaderInstance?.SubnetId) ?? subnets.Subnets?.[0];
    const group = groups.SecurityGroups?.[0];
    if (!subnet || !group || !leaderInstance?.ImageId)
      throw new ToilError(
        'CLUSTER_STATE_INVALID',
        `The cluster '${clusterName}' has no subnet, security group or leader image to add nodes with.`,
      );
    const sshUser = leader.sshUser;
    const userData = Buffer.from(
      renderStage1UserData({
        sshUser,
        sshPublicKey: options.sshPublicKey,
        clusterName,
        ...(options.sshUid === undefined ? {} : { uid: options.sshUid }),
      }),
    ).toString('base64');
    const tags = Object.fromEntries(
      Object.entries(leader.tags).filter(
        ([k]) => !k.startsWith('toil-ts:host-key:') && k !== 'Name',
      ),
    );
    const ids = await startWorkers(
      { clients: this.clients, host: this.host, env: this.env },
      {
        clusterName,
        keyPairName: leaderInstance.KeyName ?? '',
        nodeStorageGb: options.storageGb ?? 50,
      },
      { subnet, types: new Map(), images: new Map([['x86_64', leaderInstance.ImageId]]) },
      {
        securityGroupId: group.GroupId!,
        ...(profile?.InstanceProfile?.Arn
          ? { instanceProfileArn: profile.InstanceProfile.Arn }
          : {}),
      },
      type,
      count,
      userData,
      { ...tags, ...options.tags, [NODE_ROLE_TAG]: 'worker', Name: `${clusterName}-worker` },
    );
    const context = {
      clients: this.clients,
      host: this.host,
      env: this.env,
      ...(this.options.pollMs === undefined ? {} : { pollMs: this.options.pollMs }),
    };
    const timeoutMs = (options.phaseTimeoutSeconds ?? 600) * 1000;
    const running = await waitRunning(context, ids, 'add-nodes-running', timeoutMs);
    if ((options.bootstrap ?? 'full') === 'none') return sortNodes(running.map(toClusterNode));
    const added: ClusterNode[] = [];
    for (const instance of running)
      added.push(await pinHostKeys(context, instance, 'add-nodes-host-keys', timeoutMs));
    if (!stage2) return sortNodes(added);
    await joinAddedNodes(
      this.stage2,
      stage2,
      { clusterName, leader, nodes: await this.listNodes(clusterName) },
      added,
    );
    return sortNodes(added);
  }

  async terminateNodes(clusterName: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const nodes = await this.listNodes(clusterName);
    const own = new Set(nodes.map((n) => n.id));
    const foreign = ids.filter((id) => !own.has(id));
    if (foreign.length > 0)
      throw new ToilError(
        'INVALID_ARGUMENT',
        `Not nodes of the cluster '${clusterName}': ${foreign.join(', ')}.`,
        {
          hint: 'Only nodes tagged with the cluster name can be terminated through it.',
        },
      );
    for (const batch of chunks([...ids], 1000))
      await this.clients.ec2
        .send(new TerminateInstancesCommand({ InstanceIds: batch }))
        .catch((e: unknown) => {
          throw toAwsError(e, 'TerminateInstances');
        });
  }
}

/** Summaries count nodes by state; exported for tests. */
export type { NodeState };
