import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { report, startSpan, ToilError, type IoHost } from '@toil/core';
import { NodeSSH, type Config } from 'node-ssh';
import type { AnyAuthMethod, ClientChannel } from 'ssh2';
import { quote } from 'shell-quote';
import { resolveCredentials, type CredentialOptions } from './credentials.js';
import {
  describeHostKey,
  isPinned,
  type PinnedHostKey,
  type PresentedHostKey,
} from './host-keys.js';

/** Which node to reach and how to check it is the right one. */
export interface SshTarget {
  /** The node's address (IP or name). */
  host: string;
  /** Default 22. */
  port?: number;
  /** The login user (the node record's SSH user). */
  username: string;
  /** Host keys pinned at launch; the presented key must match one of them. */
  hostKeys?: readonly PinnedHostKey[];
  /** Skip the host-key check (`--insecure`); a warning event says so. */
  insecure?: boolean;
  /** A name for messages (the node id or role); default `host`. */
  label?: string;
}

/** Everything {@link connectSsh} needs. */
export interface ConnectOptions extends SshTarget, CredentialOptions {
  /** Where events go. */
  io: IoHost;
  /** Bound on the TCP connect + handshake + login, in ms (default 20 000). */
  readyTimeoutMs?: number;
  /** SSH keepalive interval in ms (default 15 000; 0 turns it off). */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as lost (default 3). */
  keepaliveCountMax?: number;
}

/** How a remote command ended. */
export interface ExitStatus {
  /** The exit code, or `null` when the command was killed by a signal. */
  code: number | null;
  /** The signal name (`SIGTERM`, `SIGKILL`, ...) when killed by one. */
  signal: string | null;
}

/** Options of {@link SshConnection.exec}. */
export interface ExecOptions {
  /** Called with each chunk of the command's stdout as it arrives. */
  onStdout?: (chunk: Buffer) => void;
  /** Called with each chunk of the command's stderr as it arrives. */
  onStderr?: (chunk: Buffer) => void;
  /** Sent to the command's stdin (then end of file); a stream is piped. */
  stdin?: string | Buffer | Readable;
  /** Allocate a PTY (stdout and stderr then arrive merged on stdout). */
  pty?: TerminalSize & { term?: string };
}

/** A terminal's size in character cells. */
export interface TerminalSize {
  columns: number;
  rows: number;
}

/** Options of {@link SshConnection.shell}. */
export interface ShellOptions {
  /** Raw keystrokes from the user (a terminal in raw mode). */
  input: Readable;
  /** Where the remote terminal's output goes. */
  output: Writable;
  /** The initial window size. */
  size: TerminalSize;
  /** `TERM` for the remote side; default `xterm-256color`. */
  term?: string;
  /**
   * Subscribes to window-size changes; the shell forwards each one to the remote PTY. Returns an
   * unsubscribe function.
   */
  onResize?: (listener: (size: TerminalSize) => void) => () => void;
  /** Run this command in the PTY instead of the login shell. */
  command?: string;
}

/** Options of {@link SshConnection.runScript}. */
export interface RunScriptOptions {
  /** A name for events and errors, e.g. `bootstrap stage 2`. */
  name: string;
  /** Arguments for the script (`$1`...), passed quoted. */
  args?: readonly string[];
  /** Run it as root through `sudo -n` (the login user needs passwordless sudo). */
  sudo?: boolean;
  /** The interpreter; default `bash`. */
  interpreter?: string;
}

/** A local port forwarded to an address the node can reach. */
export interface PortForward {
  /** The local port that accepts connections (on 127.0.0.1 unless another address was given). */
  readonly localPort: number;
  /** Stops accepting connections and closes the forwarded ones. */
  close(): Promise<void>;
}

/** Options of {@link SshConnection.forwardLocalPort}. */
export interface ForwardOptions {
  /** The local port; 0 (default) picks a free one. */
  localPort?: number;
  /** The local address to listen on; default 127.0.0.1. */
  localAddress?: string;
  /** Where the node connects to; default `localhost` (the node itself). */
  remoteHost?: string;
  remotePort: number;
}

const SOURCE = 'toil.ssh';

/** Quotes command words for the remote POSIX shell, so each reaches the command unchanged. */
export function quoteCommand(words: readonly string[]): string {
  return quote([...words]);
}

function describeTarget(target: SshTarget): string {
  const port = target.port ?? 22;
  const where = port === 22 ? target.host : `${target.host}:${port}`;
  return target.label ? `${target.label} (${where})` : where;
}

function hostKeyMismatch(target: SshTarget, presented: PresentedHostKey): ToilError {
  const pinned = (target.hostKeys ?? []).map((k) => `${k.algorithm} ${k.sha256}`).join(', ');
  return new ToilError(
    'SSH_HOST_KEY_MISMATCH',
    `Refusing to connect to ${describeTarget(target)}: it presented host key ${presented.algorithm} ${presented.sha256}, which is not one of the keys pinned at launch (${pinned}).`,
    {
      hint: 'Someone may be intercepting the connection, or the address now belongs to another machine. Check that the cluster and its leader are the ones you launched (toil list-clusters) and compare with the fingerprints on the node console; use --insecure only if you know why the key changed.',
      data: { host: target.host, presented, pinned: target.hostKeys ?? [] },
    },
  );
}

function notPinned(target: SshTarget): ToilError {
  return new ToilError(
    'SSH_HOST_KEY_NOT_PINNED',
    `No host keys are pinned for ${describeTarget(target)}, so its identity cannot be checked.`,
    {
      hint: 'The node did not report its host keys at first boot (see its console output). Pass --insecure to connect without checking.',
      data: { host: target.host },
    },
  );
}

/** Classifies an ssh2 connect error as a ToilError. */
function connectError(
  target: SshTarget,
  error: unknown,
  presentedBadKey?: PresentedHostKey,
): ToilError {
  if (presentedBadKey) return hostKeyMismatch(target, presentedBadKey);
  if (ToilError.is(error)) return error;
  const err = error as (Error & { level?: string; code?: string }) | undefined;
  const message = err?.message ?? String(error);
  if (err?.level === 'client-authentication')
    return new ToilError(
      'SSH_AUTH_FAILED',
      `${describeTarget(target)} refused every key offered for user ${target.username}.`,
      {
        cause: error,
        hint: 'Pass the key the cluster was launched with (--sshKey FILE), or add it to ssh-agent (ssh-add FILE).',
        data: { host: target.host, username: target.username },
      },
    );
  if (err?.level === 'client-timeout')
    return new ToilError(
      'SSH_TIMEOUT',
      `Timed out during the SSH handshake with ${describeTarget(target)}.`,
      {
        cause: error,
        hint: 'The node accepts TCP connections but its SSH server does not answer: check the node console and its security group.',
        data: { host: target.host, phase: 'handshake' },
      },
    );
  return new ToilError(
    'SSH_CONNECT_FAILED',
    `Could not connect to ${describeTarget(target)}: ${err?.code && !message.includes(err.code) ? `${err.code} ` : ''}${message}`,
    {
      cause: error,
      hint: 'Check that the node is running and that its SSH port is reachable from this machine.',
      data: { host: target.host, port: target.port ?? 22, code: err?.code },
    },
  );
}

/**
 * Opens an SSH connection to a node: logs in as `username` with the `--sshKey` file, the agent
 * or `~/.ssh` keys, and checks the node's host key against the keys pinned at launch (refusing a
 * mismatch) unless `insecure` is set, which only warns.
 */
export async function connectSsh(options: ConnectOptions): Promise<SshConnection> {
  const { io } = options;
  if (!options.insecure && (options.hostKeys ?? []).length === 0) throw notPinned(options);
  if (options.insecure)
    report(
      io,
      'warning',
      'SSH_HOST_KEY_UNCHECKED',
      `Not checking the host key of ${describeTarget(options)} (--insecure): the connection could be intercepted.`,
      { host: options.host },
      SOURCE,
    );
  const credentials = resolveCredentials(options, io);
  const authHandler: AnyAuthMethod[] = [
    ...credentials.keys.map((k): AnyAuthMethod => ({
      type: 'publickey',
      username: options.username,
      key: k.key,
    })),
    ...(credentials.agent
      ? [{ type: 'agent', username: options.username, agent: credentials.agent } as AnyAuthMethod]
      : []),
  ];
  let presented: PresentedHostKey | undefined;
  let refused: PresentedHostKey | undefined;
  const config: Config = {
    host: options.host,
    port: options.port ?? 22,
    username: options.username,
    readyTimeout: options.readyTimeoutMs ?? 20_000,
    keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    authHandler,
    hostVerifier: (blob: Buffer) => {
      presented = describeHostKey(blob);
      if (options.insecure || isPinned(presented, options.hostKeys ?? [])) return true;
      refused = presented;
      return false;
    },
  };
  const ssh = new NodeSSH();
  try {
    await ssh.connect(config);
  } catch (error) {
    ssh.dispose();
    throw connectError(options, error, refused);
  }
  report(
    io,
    'debug',
    'SSH_CONNECTED',
    `Connected to ${describeTarget(options)} as ${options.username} (host key ${presented?.algorithm} ${presented?.sha256}).`,
    { host: options.host, hostKey: presented },
    SOURCE,
  );
  return new SshConnection(ssh, options, presented!);
}

/**
 * An open SSH connection to one node. Every method reports through the connection's IoHost and
 * throws `ToilError`s; a connection that drops mid-command is `SSH_CONNECTION_LOST`.
 */
export class SshConnection {
  private lost: Error | undefined;
  private closedByUs = false;
  private readonly lostListeners = new Set<(error: Error) => void>();

  /** @internal Made by {@link connectSsh}. */
  constructor(
    private readonly ssh: NodeSSH,
    /** The node this connection goes to. */
    readonly target: ConnectOptions,
    /** The host key the node presented (already checked unless insecure). */
    readonly hostKey: PresentedHostKey,
  ) {
    const client = this.client;
    const onGone = (error?: Error) => {
      if (this.closedByUs || this.lost) return;
      this.lost = error ?? new Error('connection closed by the remote side');
      for (const listener of this.lostListeners) listener(this.lost);
    };
    client.on('error', (error: Error) => onGone(error));
    client.on('close', () => onGone());
    client.on('end', () => onGone());
  }

  private get client() {
    const connection = this.ssh.connection;
    if (!connection) throw this.lostError('use the connection');
    return connection;
  }

  private lostError(what: string, cause?: unknown): ToilError {
    const reason = this.lost?.message ?? (cause instanceof Error ? cause.message : 'closed');
    return new ToilError(
      'SSH_CONNECTION_LOST',
      `The SSH connection to ${describeTarget(this.target)} was lost while trying to ${what} (${reason}).`,
      {
        cause: this.lost ?? cause,
        hint: 'The node may have rebooted or the network dropped. Long commands survive a dropped connection only under nohup, screen or tmux.',
        data: { host: this.target.host },
      },
    );
  }

  private onLost(listener: (error: Error) => void): () => void {
    if (this.lost) {
      listener(this.lost);
      return () => {};
    }
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Runs one channel to its end: resolves with the exit status, rejects if the connection drops. */
  private runChannel(channel: ClientChannel, what: string): Promise<ExitStatus> {
    return new Promise((resolve, reject) => {
      let status: ExitStatus | undefined;
      let closed = false;
      let settled = false;
      const settle = (error?: ToilError) => {
        if (settled) return;
        settled = true;
        unsubscribe();
        if (error) reject(error);
        else resolve(status!);
      };
      const unsubscribe = this.onLost((error) => {
        if (!status) settle(this.lostError(what, error));
      });
      channel.on('exit', (code: number | null, signal?: string) => {
        const name = signal ? (signal.startsWith('SIG') ? signal : `SIG${signal}`) : null;
        status = { code: typeof code === 'number' ? code : null, signal: name };
        if (closed) settle();
      });
      // 'close' comes twice: from the stream itself once both directions ended (which can be
      // before the exit status arrives), and from ssh2 when the server closes the channel.
      channel.on('close', () => {
        closed = true;
        if (status) settle();
        else if (
          (channel as unknown as { incoming?: { state?: string } }).incoming?.state === 'closed'
        )
          settle(
            this.lostError(
              what,
              this.lost ?? new Error('the channel closed without an exit status'),
            ),
          );
      });
    });
  }

  /**
   * Opens an exec channel. Its exit listener is attached inside ssh2's callback, synchronously:
   * a fast command's exit status can arrive in the same packet batch as the channel's
   * confirmation, before any later listener would be attached.
   */
  private openExec(
    command: string,
    pty?: ExecOptions['pty'],
  ): Promise<{ channel: ClientChannel; done: Promise<ExitStatus> }> {
    return new Promise((resolve, reject) => {
      const options = pty
        ? { pty: { term: pty.term ?? 'xterm-256color', cols: pty.columns, rows: pty.rows } }
        : {};
      let client;
      try {
        client = this.client;
      } catch (error) {
        reject(error);
        return;
      }
      client.exec(command, options, (error, channel) => {
        if (error)
          reject(
            this.lost
              ? this.lostError(`run ${command}`, error)
              : new ToilError(
                  'SSH_EXEC_FAILED',
                  `Could not start a command on ${describeTarget(this.target)}: ${error.message}`,
                  {
                    cause: error,
                    hint: 'The node may limit sessions (MaxSessions) or be shutting down.',
                  },
                ),
          );
        else resolve({ channel, done: this.runChannel(channel, `run ${command}`) });
      });
    });
  }

  /**
   * Runs a command on the node, streaming its stdout and stderr to the callbacks, and resolves
   * with its exit status (a non-zero exit is not an error here). An array is quoted word by word
   * for the remote shell; a string is a shell command line, used as is.
   */
  async exec(command: string | readonly string[], options: ExecOptions = {}): Promise<ExitStatus> {
    const line = typeof command === 'string' ? command : quoteCommand(command);
    if (this.lost) throw this.lostError(`run ${line}`);
    const { channel, done } = await this.openExec(line, options.pty);
    channel.on('data', (chunk: Buffer) => options.onStdout?.(chunk));
    channel.stderr.on('data', (chunk: Buffer) => options.onStderr?.(chunk));
    const stdin = options.stdin;
    if (stdin === undefined) channel.end();
    else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) channel.end(stdin);
    else {
      stdin.pipe(channel);
      // Stop reading the caller's stream once the command is over (a terminal's stdin would
      // otherwise keep this process alive).
      void done.finally(() => stdin.unpipe(channel)).catch(() => {});
    }
    return done;
  }

  /**
   * Runs a command and collects its output: `{code, signal, stdout, stderr}`. For small outputs;
   * use {@link exec} with callbacks to stream.
   */
  async execCapture(
    command: string | readonly string[],
    options: Omit<ExecOptions, 'onStdout' | 'onStderr'> = {},
  ): Promise<ExitStatus & { stdout: string; stderr: string }> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const status = await this.exec(command, {
      ...options,
      onStdout: (c) => out.push(c),
      onStderr: (c) => err.push(c),
    });
    return {
      ...status,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  }

  /**
   * An interactive session with a PTY: raw keystrokes from `input` go to the node unchanged
   * (Ctrl-C, Ctrl-B d for tmux, arrow keys...), the node's terminal output goes to `output`, and
   * each window-size change reported through `onResize` resizes the remote PTY, so full-screen
   * programs such as screen and tmux work. Resolves with the shell's (or command's) exit status.
   */
  async shell(options: ShellOptions): Promise<ExitStatus> {
    const what = options.command ? `run ${options.command}` : 'run an interactive shell';
    if (this.lost) throw this.lostError(what);
    const pty = {
      term: options.term ?? 'xterm-256color',
      cols: options.size.columns,
      rows: options.size.rows,
    };
    const { channel, done } = await new Promise<{
      channel: ClientChannel;
      done: Promise<ExitStatus>;
    }>((resolve, reject) => {
      const callback = (error: Error | undefined, ch: ClientChannel) => {
        if (error)
          reject(
            new ToilError(
              'SSH_EXEC_FAILED',
              `Could not open a terminal on ${describeTarget(this.target)}: ${error.message}`,
              { cause: error, hint: 'The node must allow PTYs (PermitTTY yes).' },
            ),
          );
        else resolve({ channel: ch, done: this.runChannel(ch, what) });
      };
      if (options.command) this.client.exec(options.command, { pty }, callback);
      else this.client.shell(pty, callback);
    });
    const forwardInput = (chunk: Buffer) => channel.write(chunk);
    options.input.on('data', forwardInput);
    const endInput = () => channel.end();
    options.input.on('end', endInput);
    channel.on('data', (chunk: Buffer) => options.output.write(chunk));
    channel.stderr.on('data', (chunk: Buffer) => options.output.write(chunk));
    const unsubscribe = options.onResize?.((size) =>
      channel.setWindow(size.rows, size.columns, 0, 0),
    );
    try {
      return await done;
    } finally {
      options.input.off('data', forwardInput);
      options.input.off('end', endInput);
      unsubscribe?.();
    }
  }

  /**
   * Runs a script on the node (bootstrap stage 2 and the like): the script goes over stdin to
   * `bash -s` (as root with `sudo`), each line it prints is reported as an `SSH_SCRIPT_OUTPUT`
   * event while it runs, inside an `SSH_SCRIPT` span. A non-zero exit throws
   * `SSH_SCRIPT_FAILED` with the last lines of output.
   */
  async runScript(script: string, options: RunScriptOptions): Promise<void> {
    const io = this.target.io;
    const words = [
      ...(options.sudo ? ['sudo', '-n'] : []),
      options.interpreter ?? 'bash',
      '-s',
      '--',
      ...(options.args ?? []),
    ];
    const span = startSpan(
      io,
      'SSH_SCRIPT',
      `Running ${options.name} on ${describeTarget(this.target)}`,
      { source: SOURCE, data: { host: this.target.host, name: options.name } },
    );
    const tail: string[] = [];
    const partial = { stdout: '', stderr: '' };
    const onChunk = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = partial[stream] + chunk.toString('utf8');
      const lines = text.split(/\r?\n/);
      partial[stream] = lines.pop() ?? '';
      for (const line of lines) emitLine(stream, line);
    };
    const emitLine = (stream: 'stdout' | 'stderr', line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      report(
        io,
        'info',
        'SSH_SCRIPT_OUTPUT',
        line,
        {
          host: this.target.host,
          name: options.name,
          stream,
        },
        SOURCE,
      );
    };
    let status: ExitStatus;
    try {
      status = await this.exec(words, {
        stdin: script,
        onStdout: onChunk('stdout'),
        onStderr: onChunk('stderr'),
      });
    } catch (error) {
      span.end(`${options.name} on ${describeTarget(this.target)} was interrupted`, { ok: false });
      throw error;
    }
    for (const stream of ['stdout', 'stderr'] as const)
      if (partial[stream]) emitLine(stream, partial[stream]);
    if (status.code === 0) {
      span.end(`${options.name} finished on ${describeTarget(this.target)}`);
      return;
    }
    const how =
      status.code === null
        ? `was killed by signal ${status.signal}`
        : `exited with status ${status.code}`;
    span.end(`${options.name} ${how} on ${describeTarget(this.target)}`, { ok: false });
    throw new ToilError(
      'SSH_SCRIPT_FAILED',
      `${options.name} ${how} on ${describeTarget(this.target)}.`,
      {
        hint: "Its last lines of output are above (and in this error's data); fix the cause and run it again: the script is meant to be idempotent.",
        data: { host: this.target.host, name: options.name, ...status, lastLines: tail },
      },
    );
  }

  /** Copies a local file to the node over SFTP (`mode` sets its permissions). */
  async putFile(
    localPath: string,
    remotePath: string,
    options: { mode?: number } = {},
  ): Promise<void> {
    await this.transfer(`copy ${localPath} to ${remotePath}`, () =>
      this.ssh.putFile(
        localPath,
        remotePath,
        null,
        options.mode === undefined ? null : { mode: options.mode },
      ),
    );
  }

  /** Copies a file from the node to a local path over SFTP. */
  async getFile(remotePath: string, localPath: string): Promise<void> {
    await this.transfer(`copy ${remotePath} from the node to ${localPath}`, () =>
      this.ssh.getFile(localPath, remotePath),
    );
  }

  /** Copies a local directory tree to the node over SFTP (directories are created). */
  async putDirectory(localDir: string, remoteDir: string): Promise<void> {
    await this.transfer(`copy ${localDir} to ${remoteDir}`, async () => {
      const failed: string[] = [];
      const ok = await this.ssh.putDirectory(localDir, remoteDir, {
        recursive: true,
        concurrency: 4,
        tick: (local, _remote, error) => {
          if (error) failed.push(`${local}: ${error.message}`);
        },
      });
      if (!ok) throw new Error(failed.slice(0, 3).join('; ') || 'some files were not copied');
    });
  }

  /** Copies a directory tree from the node to a local directory over SFTP. */
  async getDirectory(remoteDir: string, localDir: string): Promise<void> {
    await this.transfer(`copy ${remoteDir} from the node to ${localDir}`, async () => {
      const failed: string[] = [];
      const ok = await this.ssh.getDirectory(localDir, remoteDir, {
        recursive: true,
        concurrency: 4,
        tick: (_local, remote, error) => {
          if (error) failed.push(`${remote}: ${error.message}`);
        },
      });
      if (!ok) throw new Error(failed.slice(0, 3).join('; ') || 'some files were not copied');
    });
  }

  /** What kind of thing a remote path is, or `undefined` when it does not exist. */
  async stat(remotePath: string): Promise<'file' | 'directory' | 'other' | undefined> {
    const sftp = await this.transfer('open SFTP', () => this.ssh.requestSFTP());
    return new Promise((resolve, reject) => {
      sftp.stat(remotePath, (error, stats) => {
        sftp.end();
        if (error) {
          if ((error as Error & { code?: number }).code === 2) resolve(undefined);
          else reject(this.transferError(`stat ${remotePath}`, error));
        } else resolve(stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : 'other');
      });
    });
  }

  private transferError(what: string, error: unknown): ToilError {
    if (this.lost) return this.lostError(what, error);
    const message = error instanceof Error ? error.message : String(error);
    return new ToilError(
      'SSH_TRANSFER_FAILED',
      `Could not ${what} on ${describeTarget(this.target)}: ${message}`,
      {
        cause: error,
        hint: 'Check that the paths exist and that the login user may read or write them.',
        data: { host: this.target.host },
      },
    );
  }

  private async transfer<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.lost) throw this.lostError(what);
    try {
      return await run();
    } catch (error) {
      throw this.transferError(what, error);
    }
  }

  /**
   * Forwards a local port to `remoteHost:remotePort` as seen from the node (ssh -L). Each local
   * connection becomes a direct-tcpip channel.
   */
  async forwardLocalPort(options: ForwardOptions): Promise<PortForward> {
    const remoteHost = options.remoteHost ?? 'localhost';
    const sockets = new Set<import('node:net').Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      this.client.forwardOut(
        socket.remoteAddress ?? '127.0.0.1',
        socket.remotePort ?? 0,
        remoteHost,
        options.remotePort,
        (error, channel) => {
          if (error) {
            report(
              this.target.io,
              'warning',
              'SSH_FORWARD_REFUSED',
              `The node refused a forwarded connection to ${remoteHost}:${options.remotePort}: ${error.message}`,
              { remoteHost, remotePort: options.remotePort },
              SOURCE,
            );
            socket.destroy();
            return;
          }
          socket.pipe(channel).pipe(socket);
          socket.on('error', () => channel.close());
          channel.on('close', () => socket.destroy());
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new ToilError(
            'SSH_FORWARD_FAILED',
            `Cannot listen on local port ${options.localPort ?? 0}: ${error.message}`,
            {
              cause: error,
              hint: 'Pick another local port; this one may be in use.',
            },
          ),
        ),
      );
      server.listen(options.localPort ?? 0, options.localAddress ?? '127.0.0.1', () => resolve());
    });
    const localPort = (server.address() as AddressInfo).port;
    return {
      localPort,
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    };
  }

  /** True until the connection is closed or lost. */
  get isOpen(): boolean {
    return !this.lost && !this.closedByUs && this.ssh.isConnected();
  }

  /** Closes the connection. */
  close(): void {
    this.closedByUs = true;
    this.ssh.dispose();
  }
}
