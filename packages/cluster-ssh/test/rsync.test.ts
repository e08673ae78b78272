import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isUsageError, RecordingHost, ToilError } from '@toil/core';
import { parseRsyncArgs, rsyncCluster, type RsyncClusterOptions } from '@toil/cluster-ssh';
import { describeWithSshd, startSshd, type TestSshd } from '../../../tooling/test-env/sshd.js';

describe('rsync-cluster arguments', () => {
  const usage = (args: string[]) => {
    try {
      parseRsyncArgs(args);
    } catch (error) {
      expect(isUsageError(error)).toBe(true);
      return (error as ToilError).message;
    }
    throw new Error('expected a usage error');
  };

  it('finds the one remote side', () => {
    expect(parseRsyncArgs(['-av', 'a b', ':/x/y'])).toMatchObject({
      remoteIndex: 2,
      remotePath: '/x/y',
    });
    expect(parseRsyncArgs([':', '.'])).toMatchObject({ remoteIndex: 0, remotePath: '' });
  });

  it('refuses arguments without a ":" side', () => {
    expect(usage(['-av', 'file', 'dest'])).toBe(
      'No remote path in the arguments: mark the leader side with a leading ":".',
    );
  });

  it('refuses two ":" sides', () => {
    expect(usage([':a', ':b'])).toBe(
      'Cannot rsync between two remote paths (":a" and ":b"): exactly one side may start with ":".',
    );
  });

  it("refuses a remote shell of the user's own, which would bypass the host-key check", () => {
    expect(usage(['-e', 'ssh -o StrictHostKeyChecking=no', 'f', ':'])).toContain(
      '"-e" is not allowed',
    );
    expect(usage(['--rsh=ssh', 'f', ':'])).toContain('is not allowed');
  });
});

describeWithSshd('rsync-cluster against a real sshd', () => {
  let sshd: TestSshd;
  let noRsyncNode: TestSshd;
  let local: string;
  const base = (node: TestSshd, io = new RecordingHost()) => ({
    host: node.host,
    port: node.port,
    username: node.username,
    hostKeys: node.hostKeys,
    privateKeyPath: node.clientKeyPath,
    io,
    stdio: 'pipe' as const,
  });

  beforeAll(async () => {
    [sshd, noRsyncNode] = await Promise.all([
      startSshd(),
      startSshd({ sessionPath: '/nonexistent-bin' }),
    ]);
    local = mkdtempSync(join(sshd.dir, 'local-'));
    mkdirSync(join(local, 'src dir', 'sub'), { recursive: true });
    writeFileSync(join(local, 'src dir', 'a.txt'), 'alpha\n');
    writeFileSync(join(local, 'src dir', 'sub', '--b.txt'), 'beta\n');
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), noRsyncNode?.stop()]);
  });

  const remoteRead = (node: TestSshd, path: string) => readFileSync(join(node.home, path), 'utf8');

  it('copies a tree to the node and back with the system rsync, paths with spaces and dashes intact', async () => {
    const up = await rsyncCluster({
      ...base(sshd),
      args: ['-a', `${local}/src dir`, ':dest dir/'],
    });
    expect(up).toEqual({ method: 'rsync', exitCode: 0 });
    expect(remoteRead(sshd, 'dest dir/src dir/sub/--b.txt')).toBe('beta\n');
    const back = join(local, 'back');
    const down = await rsyncCluster({
      ...base(sshd),
      args: ['-a', ':dest dir/src dir/', `${back}/`],
    });
    expect(down).toEqual({ method: 'rsync', exitCode: 0 });
    expect(readFileSync(join(back, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(readFileSync(join(back, 'sub', '--b.txt'), 'utf8')).toBe('beta\n');
  });

  it("returns rsync's own exit code when rsync fails", async () => {
    const io = new RecordingHost();
    const result = await rsyncCluster({ ...base(sshd, io), args: [join(local, 'missing'), ':'] });
    expect(result.method).toBe('rsync');
    expect(result.exitCode).toBe(23);
    expect(
      io
        .withCode('RSYNC_OUTPUT')
        .map((e) => e.message)
        .join('\n'),
    ).toContain('No such file');
  });

  it('refuses a node whose host key is not the pinned one before rsync runs', async () => {
    const error = await rsyncCluster({
      ...base(sshd),
      hostKeys: [
        { algorithm: 'ssh-ed25519', sha256: 'SHA256:notthekeynotthekeynotthekeynotthekeynottheke' },
      ],
      args: [join(local, 'src dir', 'a.txt'), ':mismatch.txt'],
    }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_HOST_KEY_MISMATCH');
    expect(existsSync(join(sshd.home, 'mismatch.txt'))).toBe(false);
  });

  it('copies without checking the host key with --insecure, warning about it', async () => {
    const io = new RecordingHost();
    const result = await rsyncCluster({
      ...base(sshd, io),
      hostKeys: [],
      insecure: true,
      args: [join(local, 'src dir', 'a.txt'), ':insecure.txt'],
    });
    expect(result).toEqual({ method: 'rsync', exitCode: 0 });
    expect(remoteRead(sshd, 'insecure.txt')).toBe('alpha\n');
    expect(io.withCode('SSH_HOST_KEY_UNCHECKED')).toHaveLength(1);
  });

  it('falls back to SFTP when rsync is missing on this machine, and says so', async () => {
    const io = new RecordingHost();
    const options: RsyncClusterOptions = {
      ...base(sshd, io),
      env: { PATH: '/nonexistent-bin' },
      args: ['-r', `${local}/src dir`, join(local, 'src dir', 'a.txt'), ':fallback/'],
    };
    expect(await rsyncCluster(options)).toEqual({ method: 'sftp', exitCode: 0 });
    expect(io.withCode('RSYNC_FALLBACK_SFTP')[0]?.message).toMatch(
      /^rsync is not installed on this machine: copying with SFTP instead/,
    );
    expect(remoteRead(sshd, 'fallback/src dir/sub/--b.txt')).toBe('beta\n');
    expect(remoteRead(sshd, 'fallback/a.txt')).toBe('alpha\n');
  });

  it('falls back to SFTP when rsync is missing on the node, both ways', async () => {
    const io = new RecordingHost();
    const up = await rsyncCluster({
      ...base(noRsyncNode, io),
      args: [join(local, 'src dir', 'a.txt'), ':copied.txt'],
    });
    expect(up).toEqual({ method: 'sftp', exitCode: 0 });
    expect(io.withCode('RSYNC_FALLBACK_SFTP')[0]?.message).toMatch(
      /^rsync is not installed on the node/,
    );
    const target = join(local, 'from-node', 'copied.txt');
    mkdirSync(dirname(target));
    const down = await rsyncCluster({ ...base(noRsyncNode), args: [':copied.txt', target] });
    expect(down.method).toBe('sftp');
    expect(readFileSync(target, 'utf8')).toBe('alpha\n');
  });

  it('refuses rsync-only options when it has to fall back to SFTP', async () => {
    const error = await rsyncCluster({
      ...base(noRsyncNode),
      args: ['-a', '--delete', `${local}/src dir/`, ':mirror/'],
    }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('RSYNC_UNAVAILABLE');
    expect(error.message).toBe(
      'rsync is not installed on the node, and these arguments are not a plain copy, so they cannot fall back to SFTP.',
    );
  });
});
