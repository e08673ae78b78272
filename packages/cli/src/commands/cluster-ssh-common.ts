// @toil/cluster-ssh (and its SSH library) is loaded only when a command runs, not for --help.
import type { connectSsh, parseSshOptions, PortForward, SshConnection } from '@toil/cluster-ssh';
import { report, ToilError } from '@toil/core';
import { nodeAddress, type ClusterNode } from '@toil/provisioner';
import type { CommandContext } from '../command.js';
import { openProvisioner } from './provisioner.js';

/** `--sshKey FILE`, shared by ssh-cluster and rsync-cluster. */
export const sshKeyOption = {
  sshKey: {
    type: 'string',
    describe:
      'The private key to log in with (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa).',
  },
} as const;

/** The arguments both commands share. */
export interface LeaderArgs {
  clusterName: string;
  provisioner: string;
  zone?: string;
  project?: string;
  insecure: boolean;
  sshKey?: string;
  sshOption?: string | string[];
}

/** Where the leader is and how to log in, once input is checked and the leader found. */
export interface LeaderTarget {
  leader: ClusterNode;
  host: string;
  port: number;
  username: string;
  privateKeyPath?: string;
  insecure: boolean;
  connect: Parameters<typeof connectSsh>[0];
  forwards: ReturnType<typeof parseSshOptions>['forwards'];
}

/**
 * Checks the SSH input (`--sshOption`, the key file) before any cloud call, then finds the
 * cluster's leader through the provisioner and says how to reach it.
 */
export async function resolveLeader(
  args: LeaderArgs,
  context: CommandContext,
): Promise<LeaderTarget> {
  const { parseSshOptions, readPrivateKey } = await import('@toil/cluster-ssh');
  const settings = parseSshOptions(args.sshOption === undefined ? [] : [args.sshOption].flat());
  const privateKeyPath = args.sshKey ?? settings.privateKeyPath;
  if (privateKeyPath !== undefined) readPrivateKey(privateKeyPath);
  const insecure = args.insecure || settings.insecure === true;
  const provisioner = await openProvisioner(args, context);
  const leader = await provisioner.getLeader(args.clusterName);
  const host = nodeAddress(leader);
  if (!host)
    throw new ToilError(
      'SSH_CONNECT_FAILED',
      `The leader of cluster ${args.clusterName} (${leader.id}) has no address (state: ${leader.state}).`,
      { hint: 'Wait until it runs (toil list-clusters), or destroy and relaunch the cluster.' },
    );
  const port = settings.port ?? 22;
  const username = settings.username ?? leader.sshUser;
  return {
    leader,
    host,
    port,
    username,
    insecure,
    forwards: settings.forwards,
    ...(privateKeyPath === undefined ? {} : { privateKeyPath }),
    connect: {
      host,
      port,
      username,
      hostKeys: leader.hostKeys,
      insecure,
      label: `leader of ${args.clusterName}`,
      io: context.host,
      ...(privateKeyPath === undefined ? {} : { privateKeyPath }),
      ...(settings.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: settings.readyTimeoutMs }),
      ...(settings.keepaliveIntervalMs === undefined
        ? {}
        : { keepaliveIntervalMs: settings.keepaliveIntervalMs }),
      ...(settings.keepaliveCountMax === undefined
        ? {}
        : { keepaliveCountMax: settings.keepaliveCountMax }),
    },
  };
}

/** Connects to the leader and opens the `-L` forwards asked for with `--sshOption`. */
export async function openLeaderConnection(
  args: LeaderArgs,
  context: CommandContext,
): Promise<{ connection: SshConnection; forwards: PortForward[] }> {
  const target = await resolveLeader(args, context);
  const { connectSsh } = await import('@toil/cluster-ssh');
  const connection = await connectSsh(target.connect);
  const forwards: PortForward[] = [];
  try {
    for (const f of target.forwards) {
      const forward = await connection.forwardLocalPort(f);
      forwards.push(forward);
      report(
        context.host,
        'info',
        'SSH_FORWARD_OPEN',
        `Forwarding ${f.localAddress ?? '127.0.0.1'}:${forward.localPort} to ${f.remoteHost}:${f.remotePort} on the leader`,
        { ...f, localPort: forward.localPort },
        'toil.ssh',
      );
    }
  } catch (error) {
    for (const forward of forwards) await forward.close();
    connection.close();
    throw error;
  }
  return { connection, forwards };
}
