import { connect } from 'node:net';
import { report, startSpan, ToilError, type IoHost } from '@toil/core';
import { connectSsh, type ConnectOptions, type SshConnection } from './connection.js';
import type { CredentialOptions } from './credentials.js';
import type { PinnedHostKey } from './host-keys.js';

/** The phases of {@link waitForSsh}, in order. */
export type SshWaitPhase = 'tcp' | 'handshake' | 'login';

const PHASE_TEXT: Record<SshWaitPhase, string> = {
  tcp: 'for the SSH port to accept TCP connections',
  handshake: 'for the SSH server to answer the handshake',
  login: 'for the node to accept the login key',
};

const PHASE_HINT: Record<SshWaitPhase, string> = {
  tcp: 'The node never opened its SSH port: check that it is running, its console output, and that its security group / firewall lets this machine reach port 22.',
  handshake:
    'Something accepts connections on the SSH port but never completes an SSH handshake: check the node console output for sshd errors.',
  login:
    'sshd is up but refuses the key: the login user or its authorized key were not set up (stage 1 of the bootstrap; see the node console), or you are offering another key (--sshKey, ssh-agent).',
};

/** Options of {@link waitForSsh}. */
export interface WaitForSshOptions extends ConnectOptions {
  /** Give up after this many ms overall (default 300 000). */
  timeoutMs?: number;
  /** Pause between attempts in ms (default 1 000). */
  intervalMs?: number;
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until a (new) node accepts SSH, in three phases: its port accepts TCP connections, its
 * sshd completes a handshake with a pinned host key, and it accepts the login key. Each attempt
 * is bounded by what is left of `timeoutMs`; running out throws `SSH_TIMEOUT` naming the phase
 * the node was stuck in. A host key that does not match the pinned ones is refused at once (no
 * retry). Resolves with the open connection.
 */
export async function waitForSsh(options: WaitForSshOptions): Promise<SshConnection> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const intervalMs = options.intervalMs ?? 1_000;
  const port = options.port ?? 22;
  const deadline = Date.now() + timeoutMs;
  const where = `${options.label ? `${options.label} ` : ''}${options.host}:${port}`;
  const span = startSpan(options.io, 'SSH_WAIT', `Waiting for SSH on ${where}`, {
    source: 'toil.ssh',
    data: { host: options.host, port },
  });
  let phase = 'tcp' as SshWaitPhase;
  let lastError: unknown;
  const setPhase = (next: SshWaitPhase) => {
    if (next === phase) return;
    phase = next;
    report(
      options.io,
      'debug',
      'SSH_WAIT_PHASE',
      `Waiting ${PHASE_TEXT[phase]} on ${where}`,
      { phase },
      'toil.ssh',
    );
  };
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (await tcpReachable(options.host, port, Math.min(left, 5_000))) {
      if (phase === 'tcp') setPhase('handshake');
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        const connection = await connectSsh({
          ...options,
          readyTimeoutMs: Math.max(1, Math.min(remaining, options.readyTimeoutMs ?? 20_000)),
        });
        span.end(`SSH is ready on ${where}`);
        return connection;
      } catch (error) {
        lastError = error;
        if (!ToilError.is(error)) throw error;
        if (error.code === 'SSH_AUTH_FAILED') setPhase('login');
        else if (error.code === 'SSH_TIMEOUT' || error.code === 'SSH_CONNECT_FAILED') {
          if (phase !== 'login') setPhase('handshake');
        } else {
          span.end(`Gave up waiting for SSH on ${where}: ${error.message}`, { ok: false });
          throw error;
        }
      }
    } else if (phase !== 'tcp' && phase !== 'login') {
      setPhase('tcp');
    }
    const pause = Math.min(intervalMs, deadline - Date.now());
    if (pause > 0) await sleep(pause);
  }
  span.end(`Gave up waiting for SSH on ${where}`, { ok: false });
  const seconds = Math.round(timeoutMs / 100) / 10;
  const last = lastError instanceof Error ? ` Last error: ${lastError.message}` : '';
  throw new ToilError(
    'SSH_TIMEOUT',
    `Timed out after ${seconds}s waiting ${PHASE_TEXT[phase]} on ${where} (phase: ${phase}).${last}`,
    {
      cause: lastError,
      hint: PHASE_HINT[phase],
      data: { host: options.host, port, phase, timeoutMs },
    },
  );
}

/** A node to reach, as a provisioner's bootstrap describes it (`Stage2Target` of `@toil/provisioner`). */
export interface NodeConnectTarget {
  host: string;
  username: string;
  /** The host keys pinned at launch; any other key is refused. */
  hostKeys: readonly PinnedHostKey[];
  label: string;
  io: IoHost;
  /** How long to wait for the node to accept SSH. */
  timeoutMs: number;
}

/**
 * A connection factory for provisioners (the `connect` of `runStage2` in
 * `@toil/provisioner`): each call waits for the node's SSH with {@link waitForSsh}, host
 * keys checked against the pinned ones, logging in with `credentials` (`--sshKey`, else the
 * agent or `~/.ssh`), on port 22 unless `port` says otherwise.
 */
export function nodeConnector(
  credentials: CredentialOptions & { port?: number } = {},
): (target: NodeConnectTarget) => Promise<SshConnection> {
  return (target) => waitForSsh({ ...credentials, ...target });
}
