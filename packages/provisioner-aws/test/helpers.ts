import { randomBytes } from 'node:crypto';
import {
  CreateKeyPairCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { IAMClient, ListInstanceProfilesCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { RecordingHost } from '@toil/core';
import { parseClusterSpec, type ClusterSpec, type ClusterSpecInput } from '@toil/provisioner';
import { AwsProvisioner, type AwsProvisionerOptions } from '@toil/provisioner-aws';

export const REGION = 'us-west-2';
export const ZONE = 'us-west-2a';

/** A cluster name unique to this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Raw SDK clients on moto, for looking at what the provisioner made. */
export function rawClients() {
  return { ec2: new EC2Client({ region: REGION }), iam: new IAMClient({ region: REGION }) };
}

/** Makes a key pair and picks an image in moto; sets TOIL_AWS_AMI for the provisioner. */
export async function prepareAccount(keyName: string): Promise<{ ami: string }> {
  const { ec2 } = rawClients();
  await ec2.send(new CreateKeyPairCommand({ KeyName: keyName }));
  const images = await ec2.send(
    new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['*ubuntu*'] }] }),
  );
  const ami = images.Images?.[0]?.ImageId;
  if (!ami) throw new Error('moto has no ubuntu image');
  return { ami };
}

export function provisioner(
  host: RecordingHost,
  ami: string,
  extra: Partial<AwsProvisionerOptions> = {},
): AwsProvisioner {
  return new AwsProvisioner({
    zone: ZONE,
    host,
    env: { ...process.env, TOIL_AWS_AMI: ami },
    pollMs: 50,
    destroyTiming: { timeoutMs: 5000, pollMs: 50 },
    ...extra,
  });
}

export function spec(
  input: Partial<ClusterSpecInput> & { clusterName: string; keyPairName: string },
): ClusterSpec {
  return parseClusterSpec({
    provisioner: 'aws',
    zone: ZONE,
    leaderNodeType: 't3.medium',
    owner: 'tester',
    tags: { Name: input.clusterName, Owner: 'tester', clusterName: input.clusterName },
    sshPublicKey:
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmuVCmF5dEmvj1Bn2v9W/+vOULDW76ujO2M2L8YxKs6 t@t',
    toilPackage: { kind: 'registry', version: '0.1.0' },
    bootstrap: 'none',
    ...input,
  });
}

/** Everything in moto carrying a clusterName tag, or made by toil in IAM. */
export async function taggedLeftovers(clusterName?: string): Promise<string[]> {
  const { ec2, iam } = rawClients();
  const tagFilter = clusterName
    ? { Name: 'tag:clusterName', Values: [clusterName] }
    : { Name: 'tag-key', Values: ['clusterName'] };
  const left: string[] = [];
  const instances = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        tagFilter,
        {
          Name: 'instance-state-name',
          Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'],
        },
      ],
    }),
  );
  for (const r of instances.Reservations ?? [])
    for (const i of r.Instances ?? []) left.push(`instance ${i.InstanceId}`);
  const groups = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [tagFilter] }));
  for (const g of groups.SecurityGroups ?? []) left.push(`security-group ${g.GroupId}`);
  const spots = await ec2.send(
    new DescribeSpotInstanceRequestsCommand({
      Filters: [tagFilter, { Name: 'state', Values: ['open', 'active'] }],
    }),
  );
  for (const s of spots.SpotInstanceRequests ?? [])
    left.push(`spot-request ${s.SpotInstanceRequestId}`);
  const roles = await iam.send(new ListRolesCommand({ PathPrefix: '/toil-ts/' }));
  for (const r of roles.Roles ?? [])
    if (!clusterName || r.RoleName!.startsWith(`toil-${clusterName}-`))
      left.push(`iam-role ${r.RoleName}`);
  const profiles = await iam.send(new ListInstanceProfilesCommand({ PathPrefix: '/toil-ts/' }));
  for (const p of profiles.InstanceProfiles ?? [])
    if (!clusterName || p.InstanceProfileName!.startsWith(`toil-${clusterName}-`))
      left.push(`instance-profile ${p.InstanceProfileName}`);
  return left;
}
