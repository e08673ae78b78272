import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, posix } from 'node:path';
import { report, ToilError } from '@toil/core';
import { connectSsh, type ConnectOptions, type SshConnection } from './connection.js';
import { hostKeyAlgorithmsFor, knownHostsLine } from './host-keys.js';

/** Where the remote (`:`-prefixed) argument is, after {@link parseRsyncArgs}. */
export interface ParsedRsyncArgs {
  /** The arguments as given. */
  args: readonly string[];
  /** Index of the one `:`-prefixed argument. */
  remoteIndex: number;
  /** The remote path without its `:` (empty: the login user's home directory). */
  remotePath: string;
}

/**
 * Checks rsync-cluster arguments: exactly one argument starts with `:` (the leader's side), and
 * no option replaces the remote shell (`-e`/`--rsh`, which would bypass the host-key policy).
 * Throws `RSYNC_ARGS_INVALID` (a usage error) otherwise.
 */
export function parseRsyncArgs(args: readonly string[]): ParsedRsyncArgs {
  const remote = args.map((a, i) => [a, i] as const).filter(([a]) => a.startsWith(':'));
  if (remote.length === 0)
    throw new ToilError(
      'RSYNC_ARGS_INVALID',
      'No remote path in the arguments: mark the leader side with a leading ":".',
      {
        hint: 'For example: toil rsync-cluster CLUSTER ./file.ts :/home/USER/  or  toil rsync-cluster CLUSTER :results.txt .',
        data: { args },
      },
    );
  if (remote.length > 1)
    throw new ToilError(
      'RSYNC_ARGS_INVALID',
      `Cannot rsync between two remote paths (${remote.map(([a]) => JSON.stringify(a)).join(' and ')}): exactly one side may start with ":".`,
      { hint: 'Copy to the leader or from it, one side local.', data: { args } },
    );
  const rsh = args.find((a) => a === '-e' || a.startsWith('--rsh') || /^-[^-]*e/.test(a));
  if (rsh !== undefined && !rsh.startsWith(':'))
    throw new ToilError(
      'RSYNC_ARGS_INVALID',
      `${JSON.stringify(rsh)} is not allowed: rsync-cluster chooses the remote shell itself (ssh with the host keys pinned at launch).`,
      { hint: 'Leave out -e/--rsh; use --insecure if the host key cannot be checked.' },
    );
  const [arg, remoteIndex] = remote[0]!;
  return { args, remoteIndex, remotePath: arg.slice(1) };
}

/** Options of {@link rsyncCluster}. */
export interface RsyncClusterOptions extends ConnectOptions {
  /** rsync's arguments, the leader's side marked with a leading `:`. */
  args: readonly string[];
  /**
   * `inherit` (default) lets rsync write to this process's stdout/stderr (a terminal's progress);
   * `pipe` reports its output as `RSYNC_OUTPUT` events instead.
   */
  stdio?: 'inherit' | 'pipe';
  /** The environment rsync and ssh run with, and where rsync is looked up (PATH). */
  env?: NodeJS.ProcessEnv;
}

/** What {@link rsyncCluster} did. */
export interface RsyncClusterResult {
  /** `rsync` when the system rsync ran, `sftp` for the fallback. */
  method: 'rsync' | 'sftp';
  /** rsync's exit code (0 for a finished SFTP copy). */
  exitCode: number;
}

/** Finds an executable on PATH, like `command -v`. */
export function findExecutable(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Quotes one word for rsync's own `-e` splitting (whitespace-separated, quotes honoured). */
function rshWord(word: string): string {
  if (/^[\w./=:,@+-]+$/.test(word)) return word;
  if (word.includes("'"))
    throw new ToilError(
      'RSYNC_ARGS_INVALID',
      `Cannot pass ${JSON.stringify(word)} to ssh through rsync: it contains a single quote.`,
      {
        hint: 'Rename or move the key file to a path without quotes.',
      },
    );
  return `'${word}'`;
}

/** The `user@host:` prefix rsync expects (IPv6 addresses in brackets). */
function remotePrefix(username: string, host: string): string {
  return `${username}@${host.includes(':') ? `[${host}]` : host}:`;
}

const PLAIN_LONG = new Set([
  '--archive',
  '--recursive',
  '--verbose',
  '--compress',
  '--progress',
  '--human-readable',
]);
const PLAIN_SHORT = /^-[arvzPh]+$/;

/**
 * rsync's arguments with the `:` side pointed at the node, and ssh (`-e`) set up with the
 * host-key policy: a known_hosts file holding the node's key (already checked against the
 * pinned fingerprints on `connection`) and `StrictHostKeyChecking=yes`, or, with `insecure`,
 * no checking at all.
 */
export function rsyncArgv(
  connection: SshConnection,
  parsed: ParsedRsyncArgs,
  knownHostsFile: string | undefined,
): string[] {
  const { target, hostKey } = connection;
  const port = target.port ?? 22;
  const ssh = ['ssh', '-p', String(port), '-o', 'BatchMode=yes'];
  if (target.insecure || !knownHostsFile)
    ssh.push(
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
    );
  else
    ssh.push(
      '-o',
      `UserKnownHostsFile=${knownHostsFile}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `HostKeyAlgorithms=${hostKeyAlgorithmsFor(hostKey.algorithm).join(',')}`,
    );
  const keyPath = target.privateKeyPath;
  if (keyPath) ssh.push('-i', keyPath, '-o', 'IdentitiesOnly=yes');
  const args = parsed.args.map((a, i) =>
    i === parsed.remoteIndex
      ? `${remotePrefix(target.username, target.host)}${parsed.remotePath}`
      : a,
  );
  return ['-e', ssh.map(rshWord).join(' '), ...args];
}

/**
 * `toil rsync-cluster` as a library call: connects to the node (checking its host key as
 * {@link connectSsh} does), then runs the system rsync over ssh with the same policy, its
 * arguments passed without a shell. When rsync is missing locally or on the node, a plain copy
 * (paths plus `-a`/`-r`/`-v`/`-z`/`-P`/`-h`) is done over SFTP instead, with a warning saying
 * so; anything else is `RSYNC_UNAVAILABLE`.
 */
export async function rsyncCluster(options: RsyncClusterOptions): Promise<RsyncClusterResult> {
  const parsed = parseRsyncArgs(options.args);
  const env = options.env ?? process.env;
  const connection = await connectSsh(options);
  const temp = mkdtempSync(join(tmpdir(), 'toil-rsync-'));
  try {
    const localRsync = findExecutable('rsync', env);
    const remote = await connection.exec('command -v rsync');
    if (localRsync && remote.code === 0) {
      const knownHosts = join(temp, 'known_hosts');
      writeFileSync(
        knownHosts,
        knownHostsLine(options.host, options.port ?? 22, connection.hostKey),
        { mode: 0o600 },
      );
      const argv = rsyncArgv(connection, parsed, options.insecure ? undefined : knownHosts);
      const exitCode = await runRsync(localRsync, argv, options, env);
      return { method: 'rsync', exitCode };
    }
    const where = !localRsync ? 'on this machine' : 'on the node';
    const plain = parsed.args.every(
      (a) => a.startsWith(':') || !a.startsWith('-') || PLAIN_LONG.has(a) || PLAIN_SHORT.test(a),
    );
    if (!plain)
      throw new ToilError(
        'RSYNC_UNAVAILABLE',
        `rsync is not installed ${where}, and these arguments are not a plain copy, so they cannot fall back to SFTP.`,
        {
          hint: `Install rsync ${where}, or copy with paths and -a/-r/-v only.`,
          data: { args: parsed.args },
        },
      );
    report(
      options.io,
      'warning',
      'RSYNC_FALLBACK_SFTP',
      `rsync is not installed ${where}: copying with SFTP instead (a plain copy: no delta transfer, no rsync options).`,
      { where },
      'toil.ssh',
    );
    await sftpCopy(connection, parsed, options);
    return { method: 'sftp', exitCode: 0 };
  } finally {
    connection.close();
    rmSync(temp, { recursive: true, force: true });
  }
}

function runRsync(
  binary: string,
  argv: string[],
  options: RsyncClusterOptions,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const pipe = options.stdio === 'pipe';
    const child = spawn(binary, argv, {
      stdio: pipe ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env,
    });
    if (pipe) {
      for (const [name, stream] of [
        ['stdout', child.stdout!],
        ['stderr', child.stderr!],
      ] as const) {
        let partial = '';
        stream.on('data', (chunk: Buffer) => {
          const lines = (partial + chunk.toString('utf8')).split(/\r?\n/);
          partial = lines.pop() ?? '';
          for (const line of lines)
            report(
              options.io,
              name === 'stderr' ? 'warning' : 'info',
              'RSYNC_OUTPUT',
              line,
              { stream: name },
              'toil.rsync',
            );
        });
        stream.on('end', () => {
          if (partial)
            report(options.io, 'info', 'RSYNC_OUTPUT', partial, { stream: name }, 'toil.rsync');
        });
      }
    }
    child.on('error', (error) =>
      reject(
        new ToilError('RSYNC_FAILED', `Could not run ${binary}: ${error.message}`, {
          cause: error,
          hint: 'Check the rsync installation.',
        }),
      ),
    );
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

async function sftpCopy(
  connection: SshConnection,
  parsed: ParsedRsyncArgs,
  options: RsyncClusterOptions,
): Promise<void> {
  const recursive = parsed.args.some(
    (a) => a === '--archive' || a === '--recursive' || (PLAIN_SHORT.test(a) && /[ar]/.test(a)),
  );
  const paths = parsed.args
    .map((a, i) => ({ a, i }))
    .filter(({ a }) => a.startsWith(':') || !a.startsWith('-'));
  if (paths.length < 2)
    throw new ToilError(
      'RSYNC_ARGS_INVALID',
      'A copy needs at least one source and a destination.',
      {
        hint: 'For example: toil rsync-cluster CLUSTER ./file.ts :',
      },
    );
  const dest = paths[paths.length - 1]!;
  const sources = paths.slice(0, -1);
  const remoteOf = (p: string) => p.slice(1) || '.';
  const copied = (from: string, to: string) =>
    report(
      options.io,
      'info',
      'RSYNC_SFTP_COPIED',
      `Copied ${from} to ${to} (SFTP)`,
      { from, to },
      'toil.rsync',
    );
  if (dest.i === parsed.remoteIndex) {
    const remoteDest = remoteOf(dest.a);
    let destIsDir = (await connection.stat(remoteDest)) === 'directory';
    if (!destIsDir && (sources.length > 1 || dest.a.endsWith('/'))) {
      await connection.exec(['mkdir', '-p', '--', remoteDest]);
      destIsDir = true;
    }
    for (const { a: source } of sources) {
      const stat = statSync(source);
      if (stat.isDirectory()) {
        if (!recursive) {
          report(
            options.io,
            'warning',
            'RSYNC_SFTP_SKIPPED',
            `Skipping directory ${source} (give -r or -a to copy directories)`,
            { source },
            'toil.rsync',
          );
          continue;
        }
        const to = source.endsWith('/') ? remoteDest : posix.join(remoteDest, basename(source));
        await connection.putDirectory(source, to);
        copied(source, to);
      } else {
        const to = destIsDir ? posix.join(remoteDest, basename(source)) : remoteDest;
        await connection.putFile(source, to, { mode: stat.mode & 0o777 });
        copied(source, to);
      }
    }
    return;
  }
  if (sources.length !== 1 || sources[0]!.i !== parsed.remoteIndex)
    throw new ToilError(
      'RSYNC_ARGS_INVALID',
      'When copying from the leader, give one remote source (":path") and a local destination last.',
      {
        hint: 'For example: toil rsync-cluster CLUSTER :results/out.txt ./',
      },
    );
  const remoteSource = remoteOf(sources[0]!.a);
  const kind = await connection.stat(remoteSource);
  if (kind === undefined)
    throw new ToilError('SSH_TRANSFER_FAILED', `${remoteSource} does not exist on the node.`, {
      hint: "Check the remote path (relative paths start in the login user's home).",
    });
  let localDestIsDir: boolean;
  try {
    localDestIsDir = statSync(dest.a).isDirectory();
  } catch {
    localDestIsDir = dest.a.endsWith('/');
    if (localDestIsDir) mkdirSync(dest.a, { recursive: true });
  }
  if (kind === 'directory') {
    if (!recursive) {
      report(
        options.io,
        'warning',
        'RSYNC_SFTP_SKIPPED',
        `Skipping directory ${remoteSource} (give -r or -a to copy directories)`,
        { source: remoteSource },
        'toil.rsync',
      );
      return;
    }
    const to =
      remoteSource.endsWith('/') || !localDestIsDir
        ? dest.a
        : join(dest.a, posix.basename(remoteSource));
    await connection.getDirectory(remoteSource, to);
    copied(sources[0]!.a, to);
    return;
  }
  const to = localDestIsDir ? join(dest.a, posix.basename(remoteSource)) : dest.a;
  await connection.getFile(remoteSource, to);
  copied(sources[0]!.a, to);
}
