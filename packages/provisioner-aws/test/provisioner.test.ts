import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  DescribeVolumesCommand,
  RevokeSecurityGroupIngressCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetRolePolicyCommand } from '@aws-sdk/client-iam';
import { RecordingHost } from '@toil/core';
import type { DestroyReport } from '@toil/provisioner';
import { iamName } from '@toil/provisioner-aws';
import { useMotoStoreEnv } from '../../../tooling/test-env/moto.js';
import {
  REGION,
  ZONE,
  prepareAccount,
  provisioner,
  rawClients,
  spec,
  taggedLeftovers,
  uniqueName,
} from './helpers.js';
import { rejectedToilError } from '../../../tooling/test-env/errors.js';

const moto = useMotoStoreEnv('the AWS provisioner tests (EC2 and IAM on moto)');
const KEY = 'tester-key';
let ami: string;

moto.describe('AwsProvisioner on moto', () => {
  beforeAll(async () => {
    ({ ami } = await prepareAccount(KEY));
  });

  it('launches a leader, on-demand and spot workers, all tagged, then lists, finds and destroys them (cloud calls only, stops before stage 2)', async () => {
    const host = new RecordingHost();
    const aws = provisioner(host, ami);
    const name = uniqueName('launch');
    const result = await aws.launchCluster(
      spec({
        clusterName: name,
        keyPairName: KEY,
        tags: { Name: name, Owner: 'tester', clusterName: name, project: 'genomics' },
        workers: [
          { instanceTypes: ['t3.small'], count: 2 },
          { instanceTypes: ['m5.large', 'm5a.large'], spotBid: 0.2, count: 2 },
        ],
        leaderStorageGb: 80,
      }),
    );
    expect(result.leader).toMatchObject({
      role: 'leader',
      nodeType: 't3.medium',
      state: 'running',
      clusterName: name,
      sshUser: 'toil',
    });
    expect(result.workers.map((w) => [w.nodeType, w.preemptible]).sort()).toEqual([
      ['m5.large', true],
      ['m5.large', true],
      ['t3.small', false],
      ['t3.small', false],
    ]);

    const { ec2, iam } = rawClients();
    const described = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: [name] }] }),
    );
    const instances = described.Reservations!.flatMap((r) => r.Instances!);
    expect(instances).toHaveLength(5);
    for (const i of instances) {
      const tags = Object.fromEntries(i.Tags!.map((t) => [t.Key, t.Value]));
      expect(tags).toMatchObject({ clusterName: name, Owner: 'tester', project: 'genomics' });
      expect(['leader', 'worker']).toContain(tags.ToilNodeType);
    }
    const volumes = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'tag:clusterName', Values: [name] }] }),
    );
    expect(volumes.Volumes!.length).toBeGreaterThanOrEqual(3);
    const spots = await ec2.send(
      new DescribeSpotInstanceRequestsCommand({
        Filters: [{ Name: 'tag:clusterName', Values: [name] }],
      }),
    );
    expect(spots.SpotInstanceRequests!.map((s) => Number(s.SpotPrice))).toEqual([0.2, 0.2]);
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:clusterName', Values: [name] }] }),
    );
    const rules = groups.SecurityGroups![0]!.IpPermissions!;
    expect(rules.find((r) => r.FromPort === 22)!.IpRanges![0]!.CidrIp).toBe('0.0.0.0/0');
    expect(rules.find((r) => r.IpProtocol === '-1')!.UserIdGroupPairs![0]!.GroupId).toBe(
      groups.SecurityGroups![0]!.GroupId,
    );
    const policy = await iam.send(
      new GetRolePolicyCommand({ RoleName: iamName(name, REGION), PolicyName: 'toil-cluster' }),
    );
    const document = decodeURIComponent(policy.PolicyDocument!);
    expect(document).toContain(`arn:aws:s3:::${name}*--toil`);
    expect(document).not.toContain('"s3:*","Resource":"*"');

    const listed = (await aws.listClusters()).find((c) => c.name === name)!;
    expect(listed).toMatchObject({
      provisioner: 'aws',
      zone: ZONE,
      owner: 'tester',
      nodeCount: 5,
      nodes: {
        't3.medium': { running: 1 },
        't3.small': { running: 2 },
        'm5.large': { running: 2 },
      },
    });
    expect(listed.leader!.id).toBe(result.leader!.id);
    expect((await aws.getLeader(name)).id).toBe(result.leader!.id);
    const nodes = await aws.listNodes(name);
    expect(nodes).toHaveLength(5);
    expect(nodes[0]!.role).toBe('leader');

    const report = await aws.destroyCluster(name);
    expect(report.remaining).toEqual([]);
    expect(report.deleted.map((r) => r.kind)).toEqual([
      'spot-request',
      'spot-request',
      'instance',
      'instance',
      'instance',
      'instance',
      'instance',
      'security-group',
      'instance-profile',
      'iam-role',
    ]);
    expect(report.deleted[2]!.detail).toContain('leader');
    expect(await taggedLeftovers(name)).toEqual([]);

    const again = await aws.destroyCluster(name);
    expect(again).toMatchObject({ notFound: true, deleted: [], remaining: [] });
    expect((await rejectedToilError(aws.getLeader(name))).code).toBe('CLUSTER_NOT_FOUND');
  });

  it('destroys a cluster whose leader is stopped', async () => {
    const aws = provisioner(new RecordingHost(), ami);
    const name = uniqueName('stopped');
    const result = await aws.launchCluster(
      spec({
        clusterName: name,
        keyPairName: KEY,
        workers: [{ instanceTypes: ['t3.small'], count: 1 }],
      }),
    );
    await rawClients().ec2.send(new StopInstancesCommand({ InstanceIds: [result.leader!.id] }));
    expect((await aws.getLeader(name)).state).toBe('stopped');
    const report = await aws.destroyCluster(name);
    expect(report.deleted.filter((r) => r.kind === 'instance')).toHaveLength(2);
    expect(await taggedLeftovers(name)).toEqual([]);
  });

  it("refuses to report a cluster gone while another group's rule still references its security group, then finishes once it is removed", async () => {
    const aws = provisioner(new RecordingHost(), ami);
    const name = uniqueName('dangling');
    await aws.launchCluster(spec({ clusterName: name, keyPairName: KEY }));
    const { ec2 } = rawClients();
    const own = (
      await ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [{ Name: 'tag:clusterName', Values: [name] }],
        }),
      )
    ).SecurityGroups![0]!;
    const foreign = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `${name}-other`,
        Description: 'not toil',
        VpcId: own.VpcId,
      }),
    );
    const permission = {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      UserIdGroupPairs: [{ GroupId: own.GroupId }],
    };
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: foreign.GroupId,
        IpPermissions: [permission],
      }),
    );
    try {
      const error = await rejectedToilError(aws.destroyCluster(name));
      expect(error.code).toBe('DESTROY_INCOMPLETE');
      expect(error.message).toContain(
        `security-group ${own.GroupId} (still referenced by the rules of ${foreign.GroupId}`,
      );
      expect(error.message).not.toContain('instance');
      const report = error.data!.report as DestroyReport;
      expect(report.remaining).toEqual([
        expect.objectContaining({ kind: 'security-group', id: own.GroupId }),
      ]);
      expect(await taggedLeftovers(name)).toEqual([`security-group ${own.GroupId}`]);

      await ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: foreign.GroupId,
          IpPermissions: [permission],
        }),
      );
      const finished = await aws.destroyCluster(name);
      expect(finished.deleted).toEqual([
        expect.objectContaining({ kind: 'security-group', id: own.GroupId }),
      ]);
      expect(await taggedLeftovers(name)).toEqual([]);
    } finally {
      await ec2.send(new DeleteSecurityGroupCommand({ GroupId: foreign.GroupId }));
    }
  });

  it('fails half-way with the phase, the console and what was left running, and destroy then leaves nothing', async () => {
    const host = new RecordingHost();
    const aws = provisioner(host, ami, { stage2: async () => {} });
    const name = uniqueName('half');
    // moto's console never shows stage 1's host keys, so the launch stops in that phase.
    const error = await rejectedToilError(
      aws.launchCluster(
        spec({ clusterName: name, keyPairName: KEY, bootstrap: 'full', phaseTimeoutSeconds: 0.3 }),
      ),
    );
    expect(error.code).toBe('LAUNCH_FAILED');
    expect(error.message).toContain('failed in phase leader-host-keys');
    expect(error.message).toContain('printed no SSH host keys');
    expect(error.message).toMatch(
      /Left in place: instance i-\w+, security-group sg-\w+, instance-profile toil-half-[\w-]+, iam-role toil-half-[\w-]+\./,
    );
    expect(error.hint).toBe(`Remove them with: toil destroy-cluster ${name} --zone ${ZONE}`);
    expect(host.withCode('CLUSTER_NODE_CONSOLE')[0]!.message).toContain('Console output of i-');
    await aws.destroyCluster(name);
    expect(await taggedLeftovers(name)).toEqual([]);
  });

  it('creates nothing with --dry-run, and a dry-run destroy deletes nothing', async () => {
    const aws = provisioner(new RecordingHost(), ami);
    const name = uniqueName('dry');
    const planned = await aws.launchCluster(
      spec({
        clusterName: name,
        keyPairName: KEY,
        dryRun: true,
        workers: [{ instanceTypes: ['t3.small'], spotBid: 0.1, count: 3 }],
      }),
    );
    expect(planned.dryRun).toBe(true);
    expect(planned.resources.map((r) => r.kind)).toEqual([
      'security-group',
      'iam-role',
      'instance-profile',
      'instance',
      'instance',
    ]);
    expect(planned.resources[4]!.detail).toContain('spot at $0.1/h');
    expect(await taggedLeftovers(name)).toEqual([]);
    expect(planned.apiCalls).not.toHaveProperty('RunInstances');
    expect(planned.apiCalls).not.toHaveProperty('CreateSecurityGroup');

    await aws.launchCluster(spec({ clusterName: name, keyPairName: KEY }));
    const dry = await aws.destroyCluster(name, { dryRun: true });
    expect(dry.deleted.map((r) => r.kind)).toEqual([
      'instance',
      'security-group',
      'instance-profile',
      'iam-role',
    ]);
    expect(dry.apiCalls).not.toHaveProperty('TerminateInstances');
    expect((await taggedLeftovers(name)).length).toBe(4);
    await aws.destroyCluster(name);
  });

  it('refuses bad input before creating anything: unknown type with a suggestion, missing key pair, subnet of another zone, existing cluster', async () => {
    const aws = provisioner(new RecordingHost(), ami);
    const name = uniqueName('bad');
    const unknown = await rejectedToilError(
      aws.launchCluster(spec({ clusterName: name, keyPairName: KEY, leaderNodeType: 't2.mcro' })),
    );
    expect(unknown.message).toBe(
      `Invalid instance type (t2.mcro) specified for AWS in region: ${REGION}. Did you mean t2.micro?`,
    );
    const worker = await rejectedToilError(
      aws.launchCluster(
        spec({
          clusterName: name,
          keyPairName: KEY,
          workers: [{ instanceTypes: ['m5.large', 'm5.huge'], count: 1 }],
        }),
      ),
    );
    expect(worker.message).toContain('Invalid instance type (m5.huge)');
    const key = await rejectedToilError(
      aws.launchCluster(spec({ clusterName: name, keyPairName: 'nobody' })),
    );
    expect(key.message).toBe(`The key pair 'nobody' does not exist in ${REGION}.`);
    expect(key.hint).toContain('import-key-pair');
    const { ec2 } = rawClients();
    const { DescribeSubnetsCommand } = await import('@aws-sdk/client-ec2');
    const other = (
      await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [{ Name: 'availability-zone', Values: ['us-west-2b'] }],
        }),
      )
    ).Subnets![0]!;
    const subnet = await rejectedToilError(
      aws.launchCluster(spec({ clusterName: name, keyPairName: KEY, subnet: other.SubnetId })),
    );
    expect(subnet.message).toBe(
      `The subnet ${other.SubnetId} is in us-west-2b, not in the zone ${ZONE}.`,
    );
    const missing = await rejectedToilError(
      aws.launchCluster(spec({ clusterName: name, keyPairName: KEY, subnet: 'subnet-0000000000' })),
    );
    expect(missing.message).toContain('does not exist');
    expect(await taggedLeftovers(name)).toEqual([]);

    await aws.launchCluster(spec({ clusterName: name, keyPairName: KEY }));
    const exists = await rejectedToilError(
      aws.launchCluster(spec({ clusterName: name, keyPairName: KEY })),
    );
    expect(exists.code).toBe('CLUSTER_EXISTS');
    await aws.destroyCluster(name);
  });

  it('adds nodes to a cluster (cloud calls only, bootstrap none) and terminates them, refusing ids of other clusters', async () => {
    const aws = provisioner(new RecordingHost(), ami);
    const name = uniqueName('grow');
    const launched = await aws.launchCluster(spec({ clusterName: name, keyPairName: KEY }));
    const missing = await rejectedToilError(
      aws.addNodes(name, { instanceTypes: ['t3.small'] }, 1, {
        sshPublicKey: 'ssh-ed25519 AAAA t@t',
      }),
    );
    expect(missing.message).toContain('needs options.toilPackage');
    const added = await aws.addNodes(name, { instanceTypes: ['t3.small'] }, 2, {
      bootstrap: 'none',
      spotBid: 0.05,
      sshPublicKey:
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmuVCmF5dEmvj1Bn2v9W/+vOULDW76ujO2M2L8YxKs6 t@t',
    });
    expect(added.map((n) => [n.role, n.preemptible, n.clusterName])).toEqual([
      ['worker', true, name],
      ['worker', true, name],
    ]);
    expect((await aws.listNodes(name)).length).toBe(3);
    expect((await rejectedToilError(aws.terminateNodes(name, ['i-0000000000']))).code).toBe(
      'INVALID_ARGUMENT',
    );
    await aws.terminateNodes(name, [added[0]!.id]);
    expect((await aws.listNodes(name)).map((n) => n.id).sort()).toEqual(
      [launched.leader!.id, added[1]!.id].sort(),
    );
    // The node the cluster shrank by still counts in its node-hours (EC2 lists it, terminated).
    const destroyed = await aws.destroyCluster(name);
    expect(destroyed.nodeHours).toMatchObject({ nodes: 3 });
    expect(Object.keys(destroyed.nodeHours!.byType).sort()).toEqual(
      [...new Set([launched.leader!.nodeType, 't3.small'])].sort(),
    );
    expect(destroyed.nodeHours!.total).toBeGreaterThan(0);
    expect(destroyed.nodeHours!.total).toBeLessThan(3 * (10 / 60));
    // Spot instances cost moto's spot price (its DescribeSpotPriceHistory answers $0.00001);
    // moto does not serve the Price List API, so the on-demand leader has no price.
    const spot = destroyed.cost!.byType.find((t) => t.spot)!;
    expect(spot).toMatchObject({ type: 't3.small', spot: true });
    expect(spot.usd! / spot.hours).toBeCloseTo(0.00001, 10);
    expect(destroyed.cost!.usd).toBeCloseTo(spot.usd!, 12);
    const leader = destroyed.cost!.byType.find((t) => !t.spot)!;
    expect(leader).toMatchObject({ type: launched.leader!.nodeType, spot: false });
    expect(leader.usd).toBeUndefined();
    expect(leader.noPrice).toContain('Price List API');
  });

  it("reads hourly prices from EC2's spot price history, and says why there is none when the Price List API does not answer", async () => {
    const aws = provisioner(new RecordingHost(), ami);
    expect(await aws.hourlyPrice('t2.medium', { spot: true, zone: ZONE })).toEqual({
      usdPerHour: 0.00001,
    });
    expect(await aws.hourlyPrice('t2.medium', { spot: true })).toEqual({
      noPrice: 'a spot price needs the instance zone',
    });
    const onDemand = await aws.hourlyPrice('t2.medium', { spot: false });
    expect(onDemand.usdPerHour).toBeUndefined();
    expect(onDemand.noPrice).toMatch(/^the Price List API: ./);
  });

  it('leaves nothing tagged in moto after the suite', async () => {
    expect(await taggedLeftovers()).toEqual([]);
  });
});
