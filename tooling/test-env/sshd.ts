import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describeWithComponent } from './component.js';
import { underUsersLock } from './users-lock.js';

/**
 * A real OpenSSH server for tests: its own config, host keys, pid and a fresh non-root login
 * user (random name), listening on 127.0.0.1 on a free port. Started and stopped by the tests;
 * `stop()` removes the user, its processes (by pid) and every file.
 */
export interface TestSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The login user made for this server. */
  readonly username: string;
  /** That user's home directory (writable by it). */
  readonly home: string;
  /** A private key (mode 0600) the server accepts for {@link username}. */
  readonly clientKeyPath: string;
  /** The server's host keys as the provisioner pins them: `{algorithm, sha256}`. */
  readonly hostKeys: Array<{ algorithm: string; sha256: string }>;
  /** The directory holding everything this server uses. */
  readonly dir: string;
  /** The listening sshd's pid. */
  readonly pid: number;
  /**
   * Drops every open connection: SIGKILLs the per-connection sshd processes and their sessions
   * (descendants of {@link pid}, found through /proc) so clients see the connection die
   * mid-command.
   */
  dropConnections(): void;
  /** Stops sshd, kills the test user's processes (by pid), deletes the user and the files. */
  stop(): Promise<void>;
}

/**
 * What `connectSsh` needs to log in to `sshd` as its test user, host key checked; `io` is where
 * the connection reports events.
 */
export function sshdLogin<Io>(sshd: TestSshd, io: Io) {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    hostKeys: sshd.hostKeys,
    privateKeyPath: sshd.clientKeyPath,
    io,
  };
}

/** Options of {@link startSshd}. */
export interface StartSshdOptions {
  /** `SetEnv PATH=...` for sessions (e.g. a PATH without rsync to test a node lacking it). */
  sessionPath?: string;
}

const SSHD = '/usr/sbin/sshd';

/** Why sshd tests cannot run here, or `undefined` when they can. */
export function sshdUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'the sshd tests need Linux';
  if (process.getuid?.() !== 0) return 'the sshd tests need root (they create a test user)';
  for (const bin of [SSHD, '/usr/bin/ssh-keygen', '/usr/sbin/useradd'])
    if (!existsSync(bin))
      return `${bin} is missing: run "bash tooling/test-env/install-system-deps.sh" as root`;
  return undefined;
}

/**
 * `describe` when sshd can run here; otherwise a loud warning and a skip, or, under `CI=true`, a
 * failing test: CI must run the SSH tests.
 */
export function describeWithSshd(name: string, body: () => void): void {
  describeWithComponent('a real sshd', sshdUnavailableReason(), name, body);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function fingerprint(pubPath: string): { algorithm: string; sha256: string } {
  const [algorithm] = readFileSync(pubPath, 'utf8').split(' ');
  const line = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubPath], {
    encoding: 'utf8',
  });
  return { algorithm: algorithm!, sha256: line.split(' ')[1]! };
}

function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

function descendants(root: number): number[] {
  const all: number[] = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const next = frontier.flatMap((pid) => childPids(pid));
    all.push(...next);
    frontier = next;
  }
  return all;
}

/**
 * The processes of `uid` on this machine's network namespace. Nodes of the simulated cloud run
 * in namespaces of their own and keep their users in their own /etc, so one of their users may
 * have the same uid as this test user: their processes are not this user's.
 */
function pidsOfUser(uid: number): number[] {
  const pids: number[] = [];
  const here = readlinkSync('/proc/self/ns/net');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      if (m && Number(m[1]) === uid && readlinkSync(`/proc/${entry}/ns/net`) === here)
        pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitForBanner(port: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `sshd exited (${child.exitCode}): ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`,
      );
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts sshd as described in test-infrastructure.md §3: a fresh login user (`tt` + random hex,
 * shell bash, password field `*` so key logins work without PAM), an ed25519 and an RSA host key,
 * an ed25519 client key in `authorized_keys`, SFTP through internal-sftp.
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<TestSshd> {
  const suffix = randomBytes(4).toString('hex');
  const username = `tt${suffix}`;
  const dir = mkdtempSync('/tmp/toil-ts-sshd-');
  chmodSync(dir, 0o711);
  const home = join(dir, 'home');
  let uid = -1;
  let child: ChildProcess | undefined;
  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      for (const pid of descendants(child.pid!)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGTERM');
      await exited(child);
    }
    if (uid >= 0) {
      // A SIGKILLed process exists until the kernel has torn it down, and a daemon such as a
      // tmux server may fork meanwhile: kill until none is left.
      const deadline = Date.now() + 10_000;
      for (let pids = pidsOfUser(uid); pids.length > 0; pids = pidsOfUser(uid)) {
        if (Date.now() > deadline)
          throw new Error(`processes of ${username} outlived SIGKILL: ${pids.join(', ')}`);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // -f: a simulated node's own user may hold the same uid (see pidsOfUser), and plain
      // userdel refuses while any process of that uid exists anywhere.
      execFileSync(...underUsersLock(['userdel', '-f', username]), { stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Ids far above the ones a fresh machine gives its first users: nodes of the simulated cloud
    // create their users (from 1000 up) in their own /etc, on top of this machine's, and a test
    // user made here meanwhile must not take an id one of them has or will ask for.
    execFileSync(
      ...underUsersLock([
        'useradd',
        ...[
          '-K',
          'UID_MIN=50000',
          '-K',
          'UID_MAX=59999',
          '-K',
          'GID_MIN=50000',
          '-K',
          'GID_MAX=59999',
        ],
        ...['-M', '-d', home, '-s', '/bin/bash', username],
      ]),
      { stdio: 'pipe' },
    );
    execFileSync(...underUsersLock(['usermod', '-p', '*', username]), { stdio: 'pipe' });
    uid = Number(execFileSync('id', ['-u', username], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', username], { encoding: 'utf8' }).trim());
    mkdirSync(home, { mode: 0o755 });
    chownSync(home, uid, gid);
    for (const [type, extra] of [
      ['ed25519', []],
      ['rsa', ['-b', '2048']],
    ] as const)
      execFileSync('ssh-keygen', [
        '-q',
        '-t',
        type,
        ...extra,
        '-N',
        '',
        '-f',
        join(dir, `host_${type}`),
      ]);
    const clientKeyPath = join(dir, 'client_ed25519');
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'toil-ts-test',
      '-f',
      clientKeyPath,
    ]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKeyPath}.pub`), {
      mode: 0o644,
    });
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `HostKey ${join(dir, 'host_rsa')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'StrictModes no',
      'UsePAM no',
      'Subsystem sftp internal-sftp',
      'PermitTTY yes',
      'AllowTcpForwarding yes',
      'PrintMotd no',
      'PrintLastLog no',
      'UseDNS no',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      `AllowUsers ${username}`,
      ...(options.sessionPath ? [`SetEnv PATH=${options.sessionPath}`] : []),
    ];
    const configPath = join(dir, 'sshd_config');
    writeFileSync(configPath, config.join('\n') + '\n');
    const log = join(dir, 'sshd.log');
    child = spawn(SSHD, ['-D', '-f', configPath, '-E', log], { stdio: 'ignore' });
    await waitForBanner(port, child, log);
    const hostKeys = ['ed25519', 'rsa'].map((t) => fingerprint(join(dir, `host_${t}.pub`)));
    const started = child;
    return {
      host: '127.0.0.1',
      port,
      username,
      home,
      clientKeyPath,
      hostKeys,
      dir,
      pid: started.pid!,
      dropConnections() {
        // The per-connection privileged process, its unprivileged child (which also holds the
        // socket) and the session's commands: all of them, or the TCP connection stays open.
        for (const pid of descendants(started.pid!)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      },
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
