import { randomBytes } from 'node:crypto';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  DescribeSubnetsCommand,
  GetConsoleOutputCommand,
  RequestSpotInstancesCommand,
  RunInstancesCommand,
  type Instance,
  type InstanceTypeInfo,
  type Subnet,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { closest } from 'fastest-levenshtein';
import { ToilError, report, startSpan, type IoHost } from '@toil/core';
import {
  CREATED_BY_TAG,
  NODE_ROLE_TAG,
  autoscaleConfigFor,
  SSH_USER_TAG,
  formatNodeType,
  hostKeyTags,
  parseHostKeyFingerprints,
  renderStage1UserData,
  launchStage2,
  sshStage2Runner,
  specInstanceTypes,
  type ClusterNode,
  type Stage2Runner,
  type ClusterResource,
  type ClusterSpec,
  type LaunchResult,
  type WorkerNodeType,
} from '@toil/provisioner';
import { awsErrorCode, chunks, retryOn, sleep, toAwsError, type AwsClients } from './aws.js';
import { IAM_POLICY_NAME } from './destroy.js';
import {
  clusterInstances,
  findCluster,
  iamName,
  inventoryResources,
  securityGroupName,
  tagList,
  toClusterNode,
} from './inventory.js';

const SOURCE = 'toil.provisioner.aws';

/** Stage 2 as every launch runs it unless told otherwise: `runStage2` over `@toil/cluster-ssh`. */
export function defaultStage2(host: IoHost): Stage2Runner {
  // Loaded only then: listing or destroying clusters needs no SSH library.
  return sshStage2Runner(host, async (credentials) =>
    (await import('@toil/cluster-ssh')).nodeConnector(credentials),
  );
}

/** What a launch needs besides the spec. */
export interface LaunchContext {
  clients: AwsClients;
  host: IoHost;
  env: NodeJS.ProcessEnv;
  /** Stage 2 over SSH, run when `spec.bootstrap` is `full`. */
  stage2: Stage2Runner;
  /** First poll delay while waiting, ms (default 2000). */
  pollMs?: number;
}

/** What waiting for and starting instances needs. */
export type CloudContext = Pick<LaunchContext, 'clients' | 'host' | 'env' | 'pollMs'>;

/** What the checks before any creation found. */
interface Preflight {
  subnet: Subnet;
  types: Map<string, InstanceTypeInfo>;
  images: Map<string, string>;
}

function fail(message: string, hint: string, data?: Record<string, unknown>): never {
  throw new ToilError('INVALID_ARGUMENT', message, { hint, ...(data ? { data } : {}) });
}

async function send<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toAwsError(error, operation);
  }
}

/**
 * Instance types of the region whose names start like `name` (same family, else same first
 * letter), for a suggestion; only on the error path, and never the whole list (which is
 * over a thousand types).
 */
async function similarInstanceTypes(clients: AwsClients, name: string): Promise<string[]> {
  for (const prefix of [name.split('.')[0]!, name.slice(0, 1)]) {
    if (!prefix || /[*?]/.test(prefix)) continue;
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await send('DescribeInstanceTypes', () =>
        clients.ec2.send(
          new DescribeInstanceTypesCommand({
            Filters: [{ Name: 'instance-type', Values: [`${prefix}*`] }],
            NextToken,
          }),
        ),
      );
      names.push(...(page.InstanceTypes ?? []).map((t) => t.InstanceType!));
      NextToken = page.NextToken;
    } while (NextToken);
    if (names.length > 0) return names;
  }
  return [];
}

/** Checks instance types against EC2's own list for the region; suggests the closest name. */
async function checkInstanceTypes(
  clients: AwsClients,
  names: string[],
): Promise<Map<string, InstanceTypeInfo>> {
  let bad: string;
  try {
    const found = new Map<string, InstanceTypeInfo>();
    for (const batch of chunks(names, 100)) {
      const answer = await clients.ec2.send(
        new DescribeInstanceTypesCommand({ InstanceTypes: batch as _InstanceType[] }),
      );
      for (const t of answer.InstanceTypes ?? []) found.set(t.InstanceType!, t);
    }
    const missing = names.find((n) => !found.has(n));
    if (missing === undefined) return found;
    bad = missing;
  } catch (error) {
    if (
      awsErrorCode(error) !== 'InvalidInstanceType' &&
      awsErrorCode(error) !== 'InvalidParameterValue'
    )
      throw toAwsError(error, 'DescribeInstanceTypes');
    // EC2 names the unknown types in its message: "... do not exist: [t2.mcro]".
    const listed = /\[([^\]]*)\]/.exec((error as Error).message)?.[1]?.split(/,\s*/);
    bad = names.find((n) => listed?.includes(n)) ?? names[0]!;
  }
  const similar = await similarInstanceTypes(clients, bad);
  const suggestion = similar.length > 0 ? closest(bad, similar) : undefined;
  return fail(
    `Invalid instance type (${bad}) specified for AWS in region: ${clients.region}.${suggestion ? ` Did you mean ${suggestion}?` : ''}`,
    'List the types of a region with: aws ec2 describe-instance-types --query "InstanceTypes[].InstanceType"',
    { instanceType: bad, ...(suggestion ? { suggestion } : {}) },
  );
}

/** The Debian 12 image for an architecture: `TOIL_AWS_AMI`, else the newest official one. */
async function findImage(
  clients: AwsClients,
  env: NodeJS.ProcessEnv,
  architecture: string,
): Promise<string> {
  if (env.TOIL_AWS_AMI) return env.TOIL_AWS_AMI;
  const arch = architecture === 'arm64' ? 'arm64' : 'amd64';
  const answer = await send('DescribeImages', () =>
    clients.ec2.send(
      new DescribeImagesCommand({
        Owners: ['136693071363'],
        Filters: [
          { Name: 'name', Values: [`debian-12-${arch}-*`] },
          { Name: 'state', Values: ['available'] },
        ],
      }),
    ),
  );
  const newest = (answer.Images ?? []).sort((a, b) =>
    (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''),
  )[0];
  if (!newest?.ImageId)
    throw new ToilError(
      'LAUNCH_FAILED',
      `No Debian 12 (${arch}) image found in ${clients.region}.`,
      { hint: 'Set TOIL_AWS_AMI to an image with cloud-init (Debian 12 or Ubuntu 22.04+).' },
    );
  return newest.ImageId;
}

function architectureOf(type: InstanceTypeInfo | undefined): string {
  const archs = type?.ProcessorInfo?.SupportedArchitectures ?? [];
  return archs.includes('arm64') && !archs.includes('x86_64') ? 'arm64' : 'x86_64';
}

/**
 * Every check that can be made before anything is created: the cluster does not exist yet,
 * the instance types exist in the region, the key pair exists, the subnet is in the zone
 * (or the zone has a default subnet), the extra security groups exist, the images.
 */
async function preflight(spec: ClusterSpec, context: LaunchContext): Promise<Preflight> {
  const { clients } = context;
  const existing = await clusterInstances(clients, spec.clusterName);
  if (existing.length > 0)
    throw new ToilError(
      'CLUSTER_EXISTS',
      `A cluster named ${spec.clusterName} already exists in ${clients.region} (${existing.length} instance(s)).`,
      {
        hint: `Pick another name, or remove it first with toil destroy-cluster ${spec.clusterName}.`,
      },
    );
  const types = await checkInstanceTypes(clients, specInstanceTypes(spec));
  await clients.ec2
    .send(new DescribeKeyPairsCommand({ KeyNames: [spec.keyPairName] }))
    .catch((error: unknown) => {
      if (awsErrorCode(error) === 'InvalidKeyPair.NotFound')
        fail(
          `The key pair '${spec.keyPairName}' does not exist in ${clients.region}.`,
          `Import your public key there: aws ec2 import-key-pair --region ${clients.region} --key-name ${spec.keyPairName} --public-key-material fileb://~/.ssh/id_ed25519.pub`,
        );
      throw toAwsError(error, 'DescribeKeyPairs');
    });
  let subnet: Subnet | undefined;
  if (spec.subnet) {
    const answer = await clients.ec2
      .send(new DescribeSubnetsCommand({ SubnetIds: [spec.subnet] }))
      .catch((error: unknown) => {
        if (awsErrorCode(error) === 'InvalidSubnetID.NotFound')
          fail(
            `The subnet ${spec.subnet} does not exist in ${clients.region}.`,
            'Check --vpcSubnet.',
          );
        throw toAwsError(error, 'DescribeSubnets');
      });
    subnet = answer.Subnets?.[0];
    if (!subnet)
      fail(`The subnet ${spec.subnet} does not exist in ${clients.region}.`, 'Check --vpcSubnet.');
    if (subnet.AvailabilityZone !== spec.zone)
      fail(
        `The subnet ${spec.subnet} is in ${subnet.AvailabilityZone}, not in the zone ${spec.zone}.`,
        `Give --zone ${subnet.AvailabilityZone}, or a subnet of ${spec.zone}.`,
      );
  } else {
    const answer = await send('DescribeSubnets', () =>
      clients.ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'availability-zone', Values: [spec.zone] },
            { Name: 'default-for-az', Values: ['true'] },
          ],
        }),
      ),
    );
    subnet = answer.Subnets?.[0];
    if (!subnet)
      throw new ToilError(
        'INVALID_ARGUMENT',
        `No default subnet found in availability zone ${spec.zone}.`,
        {
          hint: 'Note that Amazon does not add default subnets for new zones to old accounts. Specify a VPC subnet ID to use with --vpcSubnet, or create a default subnet in the zone.',
        },
      );
  }
  if (spec.extraSecurityGroupIds.length > 0)
    await clients.ec2
      .send(new DescribeSecurityGroupsCommand({ GroupIds: spec.extraSecurityGroupIds }))
      .catch((error: unknown) => {
        if (awsErrorCode(error) === 'InvalidGroup.NotFound')
          fail(
            `A security group of --awsEc2ExtraSecurityGroupId does not exist in ${clients.region}: ${(error as Error).message}`,
            'Check the group IDs.',
          );
        throw toAwsError(error, 'DescribeSecurityGroups');
      });
  const images = new Map<string, string>();
  for (const arch of new Set([...types.values()].map(architectureOf)))
    images.set(arch, await findImage(clients, context.env, arch));
  return { subnet, types, images };
}

/**
 * The least-privilege policy of the cluster's nodes: its own job-store buckets and instances;
 * with `elastic` groups also starting nodes (the leader's power saving runs `addNodes`).
 */
export function clusterPolicy(clusterName: string, region: string, elastic = false): string {
  const grow = elastic
    ? [
        {
          Sid: 'StartNodes',
          Effect: 'Allow',
          Action: [
            'ec2:RunInstances',
            'ec2:RequestSpotInstances',
            'ec2:DescribeSubnets',
            'ec2:DescribeSecurityGroups',
            'ec2:DescribeInstanceTypes',
            'ec2:GetConsoleOutput',
            'iam:GetInstanceProfile',
            // The hourly prices the node ledger records (spot; on demand).
            'ec2:DescribeSpotPriceHistory',
            'pricing:GetProducts',
          ],
          Resource: '*',
        },
        {
          Sid: 'PassOwnRole',
          Effect: 'Allow',
          Action: ['iam:PassRole'],
          Resource: `arn:aws:iam::*:role/toil-ts/${iamName(clusterName, region)}`,
        },
      ]
    : [];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'JobStoreBuckets',
        Effect: 'Allow',
        Action: ['s3:*'],
        Resource: [`arn:aws:s3:::${clusterName}*--toil`, `arn:aws:s3:::${clusterName}*--toil/*`],
      },
      { Sid: 'ListBuckets', Effect: 'Allow', Action: ['s3:ListAllMyBuckets'], Resource: '*' },
      {
        Sid: 'SeeTheCluster',
        Effect: 'Allow',
        Action: [
          'ec2:DescribeInstances',
          'ec2:DescribeInstanceStatus',
          'ec2:DescribeSpotInstanceRequests',
        ],
        Resource: '*',
      },
      {
        Sid: 'ManageOwnInstances',
        Effect: 'Allow',
        Action: [
          'ec2:TerminateInstances',
          'ec2:StopInstances',
          'ec2:StartInstances',
          'ec2:CreateTags',
        ],
        Resource: `arn:aws:ec2:${region}:*:instance/*`,
        Condition: { StringEquals: { 'aws:ResourceTag/clusterName': clusterName } },
      },
      ...grow,
    ],
  });
}

function plan(spec: ClusterSpec, context: LaunchContext): ClusterResource[] {
  const region = context.clients.region;
  return [
    {
      kind: 'security-group',
      id: securityGroupName(spec.clusterName),
      detail: `SSH from ${spec.sshCidr}, all traffic inside the group`,
    },
    ...(spec.instanceProfileArn
      ? []
      : [
          {
            kind: 'iam-role',
            id: iamName(spec.clusterName, region),
            detail: 'own job-store buckets and instances',
          },
          { kind: 'instance-profile', id: iamName(spec.clusterName, region) },
        ]),
    {
      kind: 'instance',
      id: 'leader',
      detail: `${spec.leaderNodeType}, ${spec.leaderStorageGb} GB, in ${spec.zone}`,
    },
    ...spec.workers.map((w) => ({
      kind: 'instance',
      id: `${w.count} worker(s)`,
      detail: `${formatNodeType(w)}${w.spotBid === undefined ? ', on demand' : `, spot at $${w.spotBid}/h`}, ${spec.nodeStorageGb} GB`,
    })),
    ...spec.elastic.map((g) => ({
      kind: 'elastic-group',
      id: `${g.min}-${g.max} worker(s)`,
      detail: `${formatNodeType(g)}${g.spotBid === undefined ? ', on demand' : `, spot at $${g.spotBid}/h`}, started by Slurm on the leader while jobs wait, terminated after ${spec.nodeIdleSeconds} s idle`,
    })),
  ];
}

interface Created {
  securityGroupId?: string;
  instanceProfileArn?: string;
}

/** Waits until every instance runs and has a private address; one call per poll. */
export async function waitRunning(
  context: CloudContext,
  ids: string[],
  phase: string,
  timeoutMs: number,
): Promise<Instance[]> {
  const deadline = Date.now() + timeoutMs;
  let delay = context.pollMs ?? 2000;
  for (;;) {
    const instances = await retryOn(
      ['InvalidInstanceID.NotFound'],
      async () => {
        const out: Instance[] = [];
        for (const batch of chunks(ids, 1000))
          out.push(
            ...(
              (await context.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: batch })))
                .Reservations ?? []
            ).flatMap((r) => r.Instances ?? []),
          );
        return out;
      },
      { timeoutMs: Math.min(60_000, timeoutMs), firstDelayMs: delay },
    ).catch((e: unknown) => {
      throw toAwsError(e, 'DescribeInstances');
    });
    const dead = instances.find((i) =>
      ['shutting-down', 'terminated', 'stopping', 'stopped'].includes(i.State?.Name ?? ''),
    );
    if (dead)
      throw new ToilError(
        'LAUNCH_FAILED',
        `Instance ${dead.InstanceId} went to ${dead.State?.Name} during ${phase}${dead.StateReason?.Message ? `: ${dead.StateReason.Message}` : ''}.`,
        { data: { phase, instanceId: dead.InstanceId } },
      );
    if (
      instances.length === ids.length &&
      instances.every((i) => i.State?.Name === 'running' && i.PrivateIpAddress)
    )
      return instances;
    if (Date.now() + delay > deadline)
      throw new ToilError(
        'LAUNCH_FAILED',
        `Timed out after ${timeoutMs / 1000} s in phase ${phase}.`,
        {
          data: { phase },
        },
      );
    await sleep(delay);
    delay = Math.min(delay * 2, 10_000);
  }
}

/** The last lines of an instance's console, for a failure message. */
async function consoleTail(context: CloudContext, instanceId: string, lines = 25): Promise<string> {
  try {
    const answer = await context.clients.ec2.send(
      new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }),
    );
    return Buffer.from(answer.Output ?? '', 'base64')
      .toString('utf8')
      .split(/\r?\n/)
      .slice(-lines)
      .join('\n');
  } catch {
    return '';
  }
}

/** Reads the host keys stage 1 printed on the console, pins them in the instance's tags. */
export async function pinHostKeys(
  context: CloudContext,
  instance: Instance,
  phase: string,
  timeoutMs: number,
): Promise<ClusterNode> {
  const deadline = Date.now() + timeoutMs;
  let delay = context.pollMs ?? 2000;
  for (;;) {
    const answer = await send('GetConsoleOutput', () =>
      context.clients.ec2.send(
        new GetConsoleOutputCommand({ InstanceId: instance.InstanceId, Latest: true }),
      ),
    );
    const keys = parseHostKeyFingerprints(
      Buffer.from(answer.Output ?? '', 'base64').toString('utf8'),
    );
    if (keys.length > 0) {
      const tags = hostKeyTags(keys);
      await send('CreateTags', () =>
        context.clients.ec2.send(
          new CreateTagsCommand({ Resources: [instance.InstanceId!], Tags: tagList(tags) }),
        ),
      );
      return toClusterNode({ ...instance, Tags: [...(instance.Tags ?? []), ...tagList(tags)] });
    }
    if (Date.now() + delay > deadline)
      throw new ToilError(
        'LAUNCH_FAILED',
        `Timed out after ${timeoutMs / 1000} s in phase ${phase}: the node printed no SSH host keys on its console.`,
        { data: { phase, instanceId: instance.InstanceId } },
      );
    await sleep(delay);
    delay = Math.min(delay * 2, 10_000);
  }
}

function blockDevices(storageGb: number) {
  return [
    {
      DeviceName: '/dev/xvda',
      Ebs: { VolumeSize: storageGb, VolumeType: 'gp3' as const, DeleteOnTermination: true },
    },
  ];
}

/**
 * Launches a cluster (see `AwsProvisioner.launchCluster`): checks, then the security group,
 * the IAM role and profile, the leader (running, host keys pinned, stage 2), then the
 * workers. On failure it shows the node's console and says what was left running.
 */
export async function launchCluster(
  spec: ClusterSpec,
  context: LaunchContext,
): Promise<LaunchResult> {
  const { clients, host } = context;
  const before = { ...clients.calls };
  const callsSince = () =>
    Object.fromEntries(
      Object.entries(clients.calls)
        .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
  const checks = startSpan(
    host,
    'CLUSTER_LAUNCH_CHECK',
    `Checking the launch of ${spec.clusterName} in ${spec.zone}`,
    { source: SOURCE },
  );
  const found = await preflight(spec, context);
  checks.end('Checks passed');
  if (spec.dryRun)
    return {
      clusterName: spec.clusterName,
      dryRun: true,
      workers: [],
      resources: plan(spec, context),
      apiCalls: callsSince(),
    };

  const timeoutMs = spec.phaseTimeoutSeconds * 1000;
  const stage2Context = launchStage2(spec);
  const autoscale = autoscaleConfigFor(spec, {
    provisioner: 'aws',
    zone: spec.zone,
    sizeOf: (name) => {
      const info = found.types.get(name);
      return {
        cpus: info?.VCpuInfo?.DefaultVCpus ?? 1,
        memoryMb: info?.MemoryInfo?.SizeInMiB ?? 1024,
      };
    },
  });
  const withAutoscale = autoscale ? { autoscale } : {};
  const created: Created = {};
  const resources: ClusterResource[] = [];
  let phase = 'security-group';
  let watched: string | undefined;
  try {
    const ownTags = { ...spec.tags, [CREATED_BY_TAG]: 'toil-ts' };
    const group = await send('CreateSecurityGroup', () =>
      clients.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: securityGroupName(spec.clusterName),
          Description: `toil-ts cluster ${spec.clusterName}`,
          VpcId: found.subnet.VpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: tagList(ownTags) }],
        }),
      ),
    );
    created.securityGroupId = group.GroupId!;
    resources.push({ kind: 'security-group', id: group.GroupId! });
    await send('AuthorizeSecurityGroupIngress', () =>
      clients.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              ...(spec.sshCidr.includes(':')
                ? { Ipv6Ranges: [{ CidrIpv6: spec.sshCidr, Description: 'SSH' }] }
                : { IpRanges: [{ CidrIp: spec.sshCidr, Description: 'SSH' }] }),
            },
            {
              IpProtocol: '-1',
              UserIdGroupPairs: [{ GroupId: group.GroupId, Description: 'inside the cluster' }],
            },
          ],
        }),
      ),
    );

    phase = 'iam';
    if (spec.instanceProfileArn) created.instanceProfileArn = spec.instanceProfileArn;
    else {
      const name = iamName(spec.clusterName, clients.region);
      const Tags = tagList({ ...ownTags, 'toil-ts:region': clients.region });
      await send('CreateRole', () =>
        clients.iam.send(
          new CreateRoleCommand({
            RoleName: name,
            Path: '/toil-ts/',
            Description: `Nodes of the toil-ts cluster ${spec.clusterName} in ${clients.region}`,
            AssumeRolePolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { Service: 'ec2.amazonaws.com' },
                  Action: 'sts:AssumeRole',
                },
              ],
            }),
            Tags,
          }),
        ),
      );
      resources.push({ kind: 'iam-role', id: name });
      await send('PutRolePolicy', () =>
        clients.iam.send(
          new PutRolePolicyCommand({
            RoleName: name,
            PolicyName: IAM_POLICY_NAME,
            PolicyDocument: clusterPolicy(
              spec.clusterName,
              clients.region,
              spec.elastic.length > 0,
            ),
          }),
        ),
      );
      const profile = await send('CreateInstanceProfile', () =>
        clients.iam.send(
          new CreateInstanceProfileCommand({ InstanceProfileName: name, Path: '/toil-ts/', Tags }),
        ),
      );
      resources.push({ kind: 'instance-profile', id: name });
      await send('AddRoleToInstanceProfile', () =>
        clients.iam.send(
          new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
        ),
      );
      created.instanceProfileArn = profile.InstanceProfile!.Arn!;
    }

    phase = 'leader-launch';
    const userData = Buffer.from(
      renderStage1UserData({
        sshUser: spec.sshUser,
        sshPublicKey: spec.sshPublicKey,
        clusterName: spec.clusterName,
      }),
    ).toString('base64');
    const nodeTags = (role: 'leader' | 'worker') => ({
      ...spec.tags,
      [NODE_ROLE_TAG]: role,
      [SSH_USER_TAG]: spec.sshUser,
    });
    const leaderType = found.types.get(spec.leaderNodeType);
    const leaderRun = await retryOn(
      ['InvalidParameterValue'],
      () =>
        clients.ec2.send(
          new RunInstancesCommand({
            ImageId: found.images.get(architectureOf(leaderType)),
            InstanceType: spec.leaderNodeType as _InstanceType,
            MinCount: 1,
            MaxCount: 1,
            KeyName: spec.keyPairName,
            UserData: userData,
            SubnetId: found.subnet.SubnetId,
            SecurityGroupIds: [created.securityGroupId!, ...spec.extraSecurityGroupIds],
            IamInstanceProfile: { Arn: created.instanceProfileArn },
            BlockDeviceMappings: blockDevices(spec.leaderStorageGb),
            ClientToken: `${spec.clusterName}-leader-${randomBytes(6).toString('hex')}`,
            TagSpecifications: [
              {
                ResourceType: 'instance',
                Tags: tagList({
                  ...nodeTags('leader'),
                  Name: `${spec.tags.Name ?? spec.clusterName}-leader`,
                }),
              },
              { ResourceType: 'volume', Tags: tagList(nodeTags('leader')) },
            ],
          }),
        ),
      // A new instance profile takes a few seconds to become usable by EC2.
      { timeoutMs: 60_000, firstDelayMs: 1000, matches: (e) => /iam/i.test((e as Error).message) },
    ).catch((e: unknown) => {
      throw toAwsError(e, 'RunInstances');
    });
    const leaderId = leaderRun.Instances![0]!.InstanceId!;
    watched = leaderId;
    resources.push({ kind: 'instance', id: leaderId, detail: `leader, ${spec.leaderNodeType}` });

    phase = 'leader-running';
    const span = startSpan(
      host,
      'CLUSTER_LAUNCH_LEADER',
      `Starting the leader ${leaderId} (${spec.leaderNodeType})`,
      { source: SOURCE },
    );
    const [leaderInstance] = await waitRunning(context, [leaderId], phase, timeoutMs);
    if (!leaderInstance!.PublicIpAddress)
      report(
        host,
        'warning',
        'CLUSTER_NO_PUBLIC_IP',
        'AWS did not assign a public IP to the cluster leader; toil connects to its private address.',
        { instanceId: leaderId },
        SOURCE,
      );
    let leader = toClusterNode(leaderInstance!);
    if (stage2Context) {
      phase = 'leader-host-keys';
      span.progress(1, 'Waiting for the leader to print its SSH host keys');
      leader = await pinHostKeys(context, leaderInstance!, phase, timeoutMs);
      phase = 'leader-setup';
      span.progress(2, 'Setting the leader up over SSH');
      await context.stage2(
        { clusterName: spec.clusterName, leader, workers: [], ...withAutoscale },
        stage2Context,
      );
    }
    span.end(`Leader ${leaderId} ready at ${leader.publicAddress ?? leader.privateAddress}`);

    const workers: ClusterNode[] = [];
    for (const group of spec.workers) {
      phase = 'workers-launch';
      watched = undefined;
      const ids = await startWorkers(
        context,
        spec,
        found,
        created,
        group,
        group.count,
        userData,
        nodeTags('worker'),
      );
      resources.push(
        ...ids.map((id) => ({ kind: 'instance', id, detail: `worker, ${formatNodeType(group)}` })),
      );
      phase = 'workers-running';
      const wspan = startSpan(
        host,
        'CLUSTER_LAUNCH_WORKERS',
        `Starting ${ids.length} worker(s) of ${formatNodeType(group)}`,
        { total: ids.length, source: SOURCE },
      );
      const running = await waitRunning(context, ids, phase, timeoutMs);
      let ready = running.map(toClusterNode);
      if (stage2Context) {
        phase = 'workers-host-keys';
        ready = [];
        for (const instance of running) {
          watched = instance.InstanceId;
          ready.push(await pinHostKeys(context, instance, phase, timeoutMs));
          wspan.progress(ready.length);
        }
      }
      wspan.end(`${ready.length} worker(s) of ${formatNodeType(group)} running`);
      workers.push(...ready);
    }
    if (stage2Context && workers.length > 0) {
      phase = 'workers-setup';
      watched = undefined;
      await context.stage2(
        { clusterName: spec.clusterName, leader, workers, ...withAutoscale },
        stage2Context,
      );
    }
    return {
      clusterName: spec.clusterName,
      dryRun: false,
      leader,
      workers,
      resources,
      apiCalls: callsSince(),
    };
  } catch (error) {
    const failedNode = ToilError.is(error) ? error.data?.nodeId : undefined;
    if (typeof failedNode === 'string') watched = failedNode;
    throw await launchFailure(error, spec, context, phase, watched);
  }
}

async function launchFailure(
  error: unknown,
  spec: ClusterSpec,
  context: LaunchContext,
  phase: string,
  instanceId: string | undefined,
): Promise<ToilError> {
  const cause = toAwsError(error, phase);
  const console = instanceId ? await consoleTail(context, instanceId) : '';
  if (console)
    report(
      context.host,
      'error',
      'CLUSTER_NODE_CONSOLE',
      `Console output of ${instanceId} (last lines):\n${console}`,
      { instanceId },
      SOURCE,
    );
  const left: ClusterResource[] = await findCluster(context.clients, spec.clusterName)
    .then(inventoryResources)
    .catch(() => []);
  const leftText =
    left.length === 0
      ? 'Nothing was left running.'
      : `Left in place: ${left.map((r) => `${r.kind} ${r.id}`).join(', ')}.`;
  return new ToilError(
    'LAUNCH_FAILED',
    `Launching cluster ${spec.clusterName} failed in phase ${phase}: ${cause.message} ${leftText}`,
    {
      hint:
        left.length === 0
          ? (cause.hint ?? 'Fix the cause and launch again.')
          : `Remove them with: toil destroy-cluster ${spec.clusterName} --zone ${spec.zone}`,
      cause: error,
      data: { phase, left, ...(instanceId ? { instanceId } : {}) },
    },
  );
}

/**
 * Starts `count` workers of one node type: on demand with RunInstances (trying the next
 * type of `a/b` when EC2 has no capacity), or spot with RequestSpotInstances at the bid; the
 * spot instances are then tagged, since a request's tags do not reach its instances.
 */
export async function startWorkers(
  context: CloudContext,
  spec: Pick<ClusterSpec, 'clusterName' | 'keyPairName' | 'nodeStorageGb'>,
  found: Pick<Preflight, 'subnet' | 'types' | 'images'>,
  created: Created,
  type: WorkerNodeType,
  count: number,
  userData: string,
  tags: Record<string, string>,
): Promise<string[]> {
  const { clients } = context;
  let lastError: unknown;
  for (const instanceType of type.instanceTypes) {
    const ImageId = found.images.get(architectureOf(found.types.get(instanceType)));
    const common = {
      ImageId,
      InstanceType: instanceType as _InstanceType,
      KeyName: spec.keyPairName,
      UserData: userData,
      SubnetId: found.subnet.SubnetId,
      SecurityGroupIds: [created.securityGroupId!],
      IamInstanceProfile: { Arn: created.instanceProfileArn },
      BlockDeviceMappings: blockDevices(spec.nodeStorageGb),
    };
    try {
      if (type.spotBid === undefined) {
        const run = await clients.ec2.send(
          new RunInstancesCommand({
            ...common,
            MinCount: count,
            MaxCount: count,
            ClientToken: `${spec.clusterName}-w-${randomBytes(6).toString('hex')}`,
            TagSpecifications: [
              {
                ResourceType: 'instance',
                Tags: tagList({ ...tags, Name: `${tags.Name ?? spec.clusterName}-worker` }),
              },
              { ResourceType: 'volume', Tags: tagList(tags) },
            ],
          }),
        );
        return run.Instances!.map((i) => i.InstanceId!);
      }
      const { SecurityGroupIds, ...launchSpec } = common;
      const requested = await clients.ec2.send(
        new RequestSpotInstancesCommand({
          SpotPrice: String(type.spotBid),
          InstanceCount: count,
          Type: 'one-time',
          LaunchSpecification: { ...launchSpec, SecurityGroupIds },
          TagSpecifications: [{ ResourceType: 'spot-instances-request', Tags: tagList(tags) }],
        }),
      );
      const requestIds = requested.SpotInstanceRequests!.map((r) => r.SpotInstanceRequestId!);
      const ids = await waitSpotFulfilled(context, requestIds);
      for (const batch of chunks(ids, 1000))
        await send('CreateTags', () =>
          clients.ec2.send(
            new CreateTagsCommand({
              Resources: batch,
              Tags: tagList({ ...tags, Name: `${tags.Name ?? spec.clusterName}-worker` }),
            }),
          ),
        );
      return ids;
    } catch (error) {
      lastError = error;
      if (
        !['InsufficientInstanceCapacity', 'Unsupported', 'SpotMaxPriceTooLow'].includes(
          awsErrorCode(error),
        )
      )
        break;
    }
  }
  throw toAwsError(lastError, 'RunInstances');
}

async function waitSpotFulfilled(context: CloudContext, requestIds: string[]): Promise<string[]> {
  const deadline = Date.now() + 300_000;
  let delay = context.pollMs ?? 2000;
  for (;;) {
    const answer = await retryOn(
      ['InvalidSpotInstanceRequestID.NotFound'],
      () =>
        context.clients.ec2.send(
          new DescribeSpotInstanceRequestsCommand({ SpotInstanceRequestIds: requestIds }),
        ),
      { timeoutMs: 60_000, firstDelayMs: delay },
    ).catch((e: unknown) => {
      throw toAwsError(e, 'DescribeSpotInstanceRequests');
    });
    const requests = answer.SpotInstanceRequests ?? [];
    const hopeless = requests.find(
      (r) =>
        ['cancelled', 'failed', 'closed'].includes(r.State ?? '') ||
        /price-too-low|capacity-not-available|bad-parameters|constraint-not-fulfillable/.test(
          r.Status?.Code ?? '',
        ),
    );
    if (hopeless)
      throw new ToilError(
        'LAUNCH_FAILED',
        `None of the spot requests entered the active state: ${hopeless.SpotInstanceRequestId} is ${hopeless.State} (${hopeless.Status?.Code ?? 'no status'}).`,
        {
          hint: 'Raise the bid, or choose another node type or zone.',
        },
      );
    const ids = requests.map((r) => r.InstanceId).filter((id): id is string => !!id);
    if (ids.length === requestIds.length) return ids;
    if (Date.now() + delay > deadline)
      throw new ToilError(
        'LAUNCH_FAILED',
        'Timed out after 300 s in phase workers-spot: spot requests not fulfilled.',
        { hint: 'Raise the bid, or choose another node type.' },
      );
    await sleep(delay);
    delay = Math.min(delay * 2, 10_000);
  }
}
