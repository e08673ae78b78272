import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ToilError, parseDuration } from '@toil/core';
import './errors.js';
import { PROVISIONER_NAMES, resolveZone } from './load.js';
import { checkClusterName } from './names.js';
import { pairNodeGroups } from './node-types.js';
import { parseClusterSpec, type ClusterSpec, type ToilPackageSource } from './spec.js';
import { clusterTags, resolveOwner, resolveUserTags } from './tags.js';

/** Options every cluster command shares (Toil's `add_provisioner_options`), in yargs form. */
export const provisionerOptions = {
  provisioner: {
    alias: 'p',
    choices: PROVISIONER_NAMES,
    default: 'aws',
    describe: 'The provisioner for cluster auto-scaling.',
  },
  zone: {
    alias: 'z',
    type: 'string',
    describe:
      'The availability zone of the leader (default: TOIL_AWS_ZONE / TOIL_GCE_ZONE, else the provisioner configuration).',
  },
  project: {
    type: 'string',
    describe:
      "GCE only: the Google Cloud project (default: GOOGLE_CLOUD_PROJECT, else the credentials' project).",
  },
} as const;

/** The cluster name positional, in yargs form. */
export const clusterNamePositional = {
  clusterName: {
    type: 'string',
    demandOption: true,
    describe: "The name of the cluster. Must be lowercase and may not contain the '_' character.",
  },
} as const;

/** `--dry-run` for launch-cluster and destroy-cluster. */
export const dryRunOption = {
  dryRun: {
    alias: 'dry-run',
    type: 'boolean',
    default: false,
    describe: 'Print what would be created or deleted, and change nothing.',
  },
} as const;

/** The options of `toil launch-cluster` (Toil's, plus `--sshCidr`, `--sshKey`, `--toilPackage`). */
export const launchClusterOptions = {
  ...provisionerOptions,
  leaderNodeType: {
    type: 'string',
    demandOption: true,
    describe: 'Non-preemptible node type to use for the cluster leader, e.g. t3.medium.',
  },
  keyPairName: {
    type: 'string',
    demandOption: true,
    describe:
      'On AWS, the name of the EC2 key pair for the nodes; on GCE, the SSH user and key name.',
  },
  owner: {
    type: 'string',
    describe: 'The owner tag for all instances (default: TOIL_OWNER_TAG, else the key pair name).',
  },
  tag: {
    alias: 't',
    type: 'string',
    array: true,
    describe: 'A NAME=VALUE tag for every resource of the cluster; repeatable.',
  },
  nodeTypes: {
    type: 'string',
    describe:
      'Comma-separated worker node types, each TYPE[/TYPE...][:BID]; a bid makes spot workers, e.g. c5.large/c5a.large:0.2,m5.xlarge.',
  },
  workers: {
    alias: 'w',
    type: 'string',
    describe:
      'Comma-separated worker counts, one per --nodeTypes entry: N starts N workers, MIN-MAX makes an elastic group that Slurm grows while jobs wait and shrinks when nodes sit idle, e.g. 2,0-4.',
  },
  nodeIdleTime: {
    type: 'string',
    default: '5m',
    describe:
      'How long a node of an elastic group (-w MIN-MAX) may sit idle before it is terminated, e.g. 5m.',
  },
  leaderStorage: {
    type: 'number',
    default: 50,
    describe: 'Root disk size of the leader, in GB.',
  },
  nodeStorage: {
    type: 'number',
    default: 50,
    describe: 'Root disk size of each worker, in GB.',
  },
  vpcSubnet: {
    type: 'string',
    describe: "The leader's VPC subnet ID (default: the zone's default subnet).",
  },
  network: {
    type: 'string',
    describe: 'GCE only: the network to launch into.',
  },
  externalAddress: {
    type: 'boolean',
    default: true,
    describe:
      "GCE only: give every node an external address; --no-externalAddress gives internal addresses only (like gcloud's --no-address), reachable from inside the network.",
  },
  awsEc2ProfileArn: {
    type: 'string',
    describe: 'Use this instance profile instead of creating an IAM role and profile.',
  },
  awsEc2ExtraSecurityGroupId: {
    type: 'string',
    array: true,
    describe: 'An extra security group ID for the leader; repeatable.',
  },
  sshCidr: {
    type: 'string',
    default: '0.0.0.0/0',
    describe: 'Where SSH to the nodes may come from (a CIDR).',
  },
  sshKey: {
    type: 'string',
    describe:
      'The private key for SSH to the nodes; its .pub is installed on them (default: ~/.ssh/id_ed25519, id_ecdsa or id_rsa).',
  },
  toilPackage: {
    type: 'string',
    describe:
      'Install toil on the nodes from this self-contained @toil/cli install (a directory with dist/ and node_modules/, e.g. made by pnpm deploy, or a .tgz of one), pushed over SFTP, instead of from the npm registry.',
  },
  phaseTimeout: {
    type: 'string',
    default: '10m',
    describe:
      'How long each launch phase (instance running, host keys, SSH, node set-up) may take, e.g. 10m.',
  },
  bootstrap: {
    choices: ['full', 'none'],
    default: 'full',
    describe:
      'full: set the nodes up for toil over SSH; none: only create the cloud resources (nodes are not usable by toil).',
  },
  ...dryRunOption,
} as const;

/** Parsed launch-cluster arguments, as {@link launchSpecFromOptions} reads them. */
export interface LaunchClusterArgs {
  clusterName: string;
  provisioner: string;
  zone?: string;
  leaderNodeType: string;
  keyPairName: string;
  owner?: string;
  tag?: string[];
  nodeTypes?: string;
  workers?: string;
  nodeIdleTime?: string;
  leaderStorage?: number;
  nodeStorage?: number;
  vpcSubnet?: string;
  network?: string;
  externalAddress?: boolean;
  awsEc2ProfileArn?: string;
  awsEc2ExtraSecurityGroupId?: string[];
  sshCidr?: string;
  sshKey?: string;
  toilPackage?: string | string[];
  phaseTimeout?: string;
  bootstrap?: string;
  dryRun?: boolean;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * The SSH key pair the launcher uses: `--sshKey FILE` (with `FILE.pub`), else the first of
 * `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` that has a `.pub`.
 *
 * @throws ToilError `INVALID_ARGUMENT` when the key or its `.pub` is missing.
 */
export function resolveSshKey(
  sshKey: string | undefined,
  home: string = homedir(),
): { privateKeyPath: string; publicKey: string } {
  const candidates = sshKey ? [resolve(sshKey)] : DEFAULT_KEYS.map((k) => join(home, '.ssh', k));
  for (const path of candidates) {
    if (existsSync(path) && existsSync(`${path}.pub`))
      return { privateKeyPath: path, publicKey: readFileSync(`${path}.pub`, 'utf8').trim() };
  }
  throw new ToilError(
    'INVALID_ARGUMENT',
    sshKey
      ? `The SSH key ${sshKey} (and ${sshKey}.pub) must both exist.`
      : 'No SSH key found in ~/.ssh (id_ed25519, id_ecdsa or id_rsa with its .pub).',
    { hint: 'Make one with ssh-keygen -t ed25519, or give --sshKey FILE.' },
  );
}

/** How to make a `--toilPackage` bundle from this repository (for messages). */
const BUNDLE_HINT =
  'Make one with: pnpm --config.inject-workspace-packages=true --filter @toil/cli deploy --prod DIR (a directory with dist/ and node_modules/), or give a .tgz of such a directory.';

/**
 * Where stage 2 gets toil from: the npm registry at `version` by default, or the
 * self-contained install given with `--toilPackage` (a directory holding `@toil/cli` at
 * `version` with its `node_modules`, or a `.tgz`/`.tar.gz` of one, checked on the node).
 *
 * @throws ToilError `INVALID_ARGUMENT` for anything else, or a directory of another version.
 */
export function resolveToilPackage(
  given: string | readonly string[] | undefined,
  version: string,
): ToilPackageSource {
  const paths = given === undefined ? [] : [given].flat();
  if (paths.length === 0) return { kind: 'registry', version };
  if (paths.length > 1)
    throw new ToilError('INVALID_ARGUMENT', '--toilPackage was given more than once.', {
      hint: BUNDLE_HINT,
    });
  const path = resolve(paths[0]!);
  const stat = existsSync(path) ? statSync(path) : undefined;
  if (stat?.isFile() && /\.(tgz|tar\.gz)$/.test(path)) return { kind: 'bundle', path, version };
  if (!stat?.isDirectory())
    throw new ToilError(
      'INVALID_ARGUMENT',
      `--toilPackage ${paths[0]} is neither a directory nor a .tgz file.`,
      { hint: BUNDLE_HINT },
    );
  const manifest = join(path, 'package.json');
  let found: { name?: unknown; version?: unknown } = {};
  try {
    found = JSON.parse(readFileSync(manifest, 'utf8')) as typeof found;
  } catch {
    // reported below
  }
  if (found.name !== '@toil/cli' || !existsSync(join(path, 'node_modules')))
    throw new ToilError(
      'INVALID_ARGUMENT',
      `--toilPackage ${paths[0]} is not a self-contained @toil/cli install (package.json of @toil/cli and node_modules/).`,
      { hint: BUNDLE_HINT },
    );
  if (found.version !== version)
    throw new ToilError(
      'INVALID_ARGUMENT',
      `--toilPackage ${paths[0]} holds @toil/cli ${String(found.version)}, but this toil is ${version}: the nodes must run the launcher's version.`,
      { hint: BUNDLE_HINT },
    );
  return { kind: 'bundle', path, version };
}

/**
 * Turns launch-cluster arguments into a checked {@link ClusterSpec}, in Toil's validation
 * order (node types, pairing with `-w`, zone) plus the cluster name and tags, all before any
 * cloud call.
 *
 * @throws ToilError with a usage code for any bad input.
 */
export function launchSpecFromOptions(
  args: LaunchClusterArgs,
  context: { version: string; env?: NodeJS.ProcessEnv; home?: string },
): ClusterSpec {
  const env = context.env ?? process.env;
  const { workers, elastic } = pairNodeGroups(args.nodeTypes, args.workers);
  const nodeIdleSeconds =
    args.nodeIdleTime === undefined
      ? undefined
      : Math.ceil(parseDuration(args.nodeIdleTime, '--nodeIdleTime'));
  if (elastic.length > 0 && args.bootstrap === 'none')
    throw new ToilError(
      'INVALID_ARGUMENT',
      'Elastic node groups (-w MIN-MAX) need --bootstrap full: Slurm on the leader starts their nodes.',
      { hint: 'Drop --bootstrap none, or give fixed counts (-w N).' },
    );
  const zone = resolveZone(args.provisioner, args.zone, { env, required: true })!;
  checkClusterName(args.clusterName);
  for (const [flag, value] of [
    ['--leaderStorage', args.leaderStorage],
    ['--nodeStorage', args.nodeStorage],
  ] as const)
    if (value !== undefined && (!Number.isInteger(value) || value <= 0))
      throw new ToilError('INVALID_ARGUMENT', `${flag} must be a whole number of GB above 0.`, {
        hint: `For example ${flag} 50.`,
      });
  if (args.externalAddress === false && args.provisioner !== 'gce')
    throw new ToilError('INVALID_ARGUMENT', '--no-externalAddress is for --provisioner gce only.', {
      hint: 'On AWS the subnet decides (its MapPublicIpOnLaunch setting): launch into a private subnet with --vpcSubnet.',
    });
  if (args.sshCidr !== undefined && !isCidr(args.sshCidr))
    throw new ToilError('INVALID_ARGUMENT', `--sshCidr ${args.sshCidr} is not a CIDR block.`, {
      hint: 'For example --sshCidr 203.0.113.0/24.',
    });
  const owner = resolveOwner(args, env);
  const tags = clusterTags(args.clusterName, owner, resolveUserTags(args.tag, env));
  const key = resolveSshKey(args.sshKey, context.home);
  return parseClusterSpec({
    clusterName: args.clusterName,
    provisioner: args.provisioner,
    zone,
    leaderNodeType: args.leaderNodeType,
    keyPairName: args.keyPairName,
    owner,
    tags,
    workers,
    elastic,
    nodeIdleSeconds,
    leaderStorageGb: args.leaderStorage,
    nodeStorageGb: args.nodeStorage,
    subnet: args.vpcSubnet,
    network: args.network,
    externalAddress: args.externalAddress ?? true,
    instanceProfileArn: args.awsEc2ProfileArn,
    extraSecurityGroupIds: args.awsEc2ExtraSecurityGroupId ?? [],
    sshCidr: args.sshCidr,
    sshPublicKey: key.publicKey,
    sshPrivateKeyPath: key.privateKeyPath,
    toilPackage: resolveToilPackage(args.toilPackage, context.version),
    phaseTimeoutSeconds:
      args.phaseTimeout === undefined
        ? undefined
        : parseDuration(args.phaseTimeout, '--phaseTimeout'),
    bootstrap: args.bootstrap === 'none' ? 'none' : 'full',
    dryRun: args.dryRun ?? false,
  });
}

/** True for an IPv4 or IPv6 CIDR block (`10.0.0.0/16`, `::/0`). */
export function isCidr(text: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (v4) return v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 32;
  const v6 = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
  return v6 !== null && v6[1]!.includes(':') && Number(v6[2]) <= 128;
}
