import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  ImportKeyPairCommand,
} from '@aws-sdk/client-ec2';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimCloud } from './simcloud.js';

/** A launcher's side of an AWS cluster test (see {@link prepareAwsLauncher}). */
export interface AwsLauncher {
  /** A fresh home directory (remove it after the test). */
  home: string;
  /** `~/.ssh/id_ed25519` in it, imported into moto as the key pair. */
  key: string;
  /** Environment for the CLI: that home, and `TOIL_AWS_AMI` (an image moto has). */
  env: Record<string, string>;
}

/**
 * Makes a launcher for `launch-cluster` tests on the simulated cloud: a home with a new
 * ed25519 key, that key imported into moto's EC2 as `keyName`, and an image to launch.
 * Call inside tests or hooks of a `useSimCloud` file (the AWS SDK goes to its front).
 */
export async function prepareAwsLauncher(region: string, keyName: string): Promise<AwsLauncher> {
  const home = mkdtempSync(join(tmpdir(), `simcloud-${keyName}-`));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const key = join(home, '.ssh', 'id_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
  const ec2 = new EC2Client({ region });
  try {
    await ec2.send(
      new ImportKeyPairCommand({ KeyName: keyName, PublicKeyMaterial: readFileSync(`${key}.pub`) }),
    );
    const images = await ec2.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['*ubuntu*'] }] }),
    );
    return { home, key, env: { HOME: home, TOIL_AWS_AMI: images.Images![0]!.ImageId! } };
  } finally {
    ec2.destroy();
  }
}

/** What a `launch-cluster` of the AWS cluster tests varies (see {@link awsLaunchArgs}). */
export interface AwsLaunchOptions {
  /** `--nodeTypes` (default `t3.medium`). */
  nodeTypes?: string;
  /** `-w`: a count or a range (`0-3`). */
  workers: string;
  /** The key pair imported by {@link prepareAwsLauncher}, and its private key file. */
  keyPairName: string;
  sshKey: string;
  /** Where: the subnet from `SimAws.subnet`. */
  subnet: { zone: string; subnetId: string };
  /** The rest, as given (`--toilPackage DIR`, `--bootstrap none`, `--nodeIdleTime 20s`, ...). */
  more?: string[];
}

/** The `toil launch-cluster` argv of the AWS cluster tests and benchmarks: a t3.medium leader. */
export function awsLaunchArgs(name: string, options: AwsLaunchOptions): string[] {
  return [
    'launch-cluster',
    name,
    '--leaderNodeType',
    't3.medium',
    '--nodeTypes',
    options.nodeTypes ?? 't3.medium',
    '-w',
    options.workers,
    '--keyPairName',
    options.keyPairName,
    '--sshKey',
    options.sshKey,
    '--zone',
    options.subnet.zone,
    '--vpcSubnet',
    options.subnet.subnetId,
    ...(options.more ?? []),
  ];
}

/**
 * What is left after a destroy: instances of moto's EC2 in `region` that are not terminated
 * (ids), and network namespaces of the run's nodes on this machine (names). Waits first until
 * the simulated cloud has no node, not even one being removed.
 */
export async function leftAfterDestroy(
  cloud: SimCloud,
  region: string,
): Promise<{ instances: string[]; namespaces: string[] }> {
  // Not just no node up: a node being removed still has its namespace.
  await cloud.waitFor('no node', () => cloud.nodesInFlight() === 0);
  const ec2 = new EC2Client({ region });
  try {
    const left = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    );
    return {
      instances: (left.Reservations ?? [])
        .flatMap((r) => r.Instances ?? [])
        .map((i) => i.InstanceId!),
      namespaces: spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((line) => line.startsWith(`sc-${cloud.runId}-`)),
    };
  } finally {
    ec2.destroy();
  }
}

/**
 * Writes (mode 0600) the `aws.env` a user copies to a cluster without an AWS identity (GCE)
 * for an `aws:` job store, read by the remote shell with `set -a && . ./aws.env`: moto's
 * fake credentials and the front at `endpoint` (`SimAws.nodeEndpoint`, as nodes reach it).
 */
export function writeAwsEnv(path: string, endpoint: string, region: string): void {
  writeFileSync(
    path,
    [
      `AWS_ENDPOINT_URL=${endpoint}`,
      'AWS_ACCESS_KEY_ID=testing',
      'AWS_SECRET_ACCESS_KEY=testing',
      `AWS_REGION=${region}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}
