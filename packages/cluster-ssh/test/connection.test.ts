import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingHost, ToilError } from '@toil/core';
import { connectSsh, type SshConnection } from '@toil/cluster-ssh';
import {
  describeWithSshd,
  sshdLogin,
  startSshd,
  type TestSshd,
} from '../../../tooling/test-env/sshd.js';

describeWithSshd('an SSH connection to a real sshd on 127.0.0.1', () => {
  let sshd: TestSshd;
  let io: RecordingHost;
  let connection: SshConnection;
  const local = mkdtempSync(join(tmpdir(), 'toil-ts-ssh-test-'));

  const options = () => sshdLogin(sshd, io);

  beforeAll(async () => {
    sshd = await startSshd();
    io = new RecordingHost();
    connection = await connectSsh(options());
  });
  afterAll(async () => {
    connection?.close();
    await sshd?.stop();
    rmSync(local, { recursive: true, force: true });
  });

  it('runs a command and returns its exit code with both streams kept apart', async () => {
    const result = await connection.execCapture('echo to-out; echo to-err 1>&2; exit 7');
    expect(result).toEqual({ code: 7, signal: null, stdout: 'to-out\n', stderr: 'to-err\n' });
  });

  it('streams output while the command runs', async () => {
    const chunks: string[] = [];
    let sawFirstBeforeExit = false;
    const status = await connection.exec('echo first; read line; echo "got $line"', {
      stdin: 'second\n',
      onStdout: (c) => {
        chunks.push(c.toString());
        if (c.toString().includes('first')) sawFirstBeforeExit = true;
      },
    });
    expect(status.code).toBe(0);
    expect(sawFirstBeforeExit).toBe(true);
    expect(chunks.join('')).toBe('first\ngot second\n');
  });

  it('passes command words unchanged, quoting them for the remote shell', async () => {
    const words = ['printf', '%s|', 'a b', '$HOME', "it's", '--flag', ';', 'rm -rf /'];
    const result = await connection.execCapture(words);
    expect(result.stdout).toBe("a b|$HOME|it's|--flag|;|rm -rf /|");
  });

  it('reports a command killed by a signal with the signal name', async () => {
    const result = await connection.execCapture('kill -TERM $$');
    expect(result.code).toBeNull();
    expect(result.signal).toBe('SIGTERM');
  });

  it('copies files both ways over SFTP, keeping bytes and mode', async () => {
    const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    writeFileSync(join(local, 'up.bin'), payload);
    const remote = `${sshd.home}/up.bin`;
    await connection.putFile(join(local, 'up.bin'), remote, { mode: 0o640 });
    expect((await connection.execCapture(['stat', '-c', '%a %s', remote])).stdout).toBe(
      '640 70000\n',
    );
    await connection.getFile(remote, join(local, 'down.bin'));
    expect(readFileSync(join(local, 'down.bin')).equals(payload)).toBe(true);
    expect(await connection.stat(remote)).toBe('file');
    expect(await connection.stat(sshd.home)).toBe('directory');
    expect(await connection.stat(`${sshd.home}/missing`)).toBeUndefined();
  });

  it('fails a transfer from a missing remote file with a clear error', async () => {
    const error = await connection
      .getFile(`${sshd.home}/nope`, join(local, 'nope'))
      .catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_TRANSFER_FAILED');
    expect(error.message).toContain(`${sshd.home}/nope`);
  });

  it('runs a script streaming each output line as an event, and fails on a non-zero exit', async () => {
    const scriptIo = new RecordingHost();
    const scripted = await connectSsh({ ...options(), io: scriptIo });
    try {
      await scripted.runScript('echo "step $1"\necho warn >&2\necho done', {
        name: 'bootstrap stage 2',
        args: ['one two'],
      });
      const lines = scriptIo.withCode('SSH_SCRIPT_OUTPUT').map((e) => [e.data?.stream, e.message]);
      expect(lines).toEqual(
        expect.arrayContaining([
          ['stdout', 'step one two'],
          ['stderr', 'warn'],
          ['stdout', 'done'],
        ]),
      );
      expect(scriptIo.withCode('SSH_SCRIPT').map((e) => e.span?.phase)).toEqual(['start', 'end']);
      const error = await scripted
        .runScript('echo installing\necho broken >&2\nexit 3', { name: 'bootstrap stage 2' })
        .catch((e) => e);
      expect(ToilError.is(error) && error.code).toBe('SSH_SCRIPT_FAILED');
      expect(error.message).toBe(
        `bootstrap stage 2 exited with status 3 on 127.0.0.1:${sshd.port}.`,
      );
      expect(error.data.lastLines).toEqual(expect.arrayContaining(['installing', 'broken']));
    } finally {
      scripted.close();
    }
  });

  it('forwards a local port to a port on the node', async () => {
    const forward = await connection.forwardLocalPort({
      remoteHost: '127.0.0.1',
      remotePort: sshd.port,
    });
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        const socket = require('node:net').connect({ host: '127.0.0.1', port: forward.localPort });
        socket.once('data', (d: Buffer) => {
          socket.destroy();
          resolve(d.toString());
        });
        socket.once('error', reject);
      });
      expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
    } finally {
      await forward.close();
    }
  });

  it('refuses a node whose host key is not the pinned one, saying what to check', async () => {
    const wrong = [
      { algorithm: 'ssh-ed25519', sha256: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    ];
    const error = await connectSsh({ ...options(), hostKeys: wrong }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_HOST_KEY_MISMATCH');
    expect(error.message).toContain('not one of the keys pinned at launch');
    expect(error.hint).toContain('--insecure');
  });

  it('refuses to connect without pinned keys unless --insecure, which warns', async () => {
    const error = await connectSsh({ ...options(), hostKeys: [] }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_HOST_KEY_NOT_PINNED');
    const warned = new RecordingHost();
    const insecure = await connectSsh({ ...options(), hostKeys: [], insecure: true, io: warned });
    try {
      expect((await insecure.execCapture('echo ok')).stdout).toBe('ok\n');
      expect(warned.withCode('SSH_HOST_KEY_UNCHECKED')[0]?.level).toBe('warning');
    } finally {
      insecure.close();
    }
  });

  it('says the key was refused when the node does not accept it', async () => {
    const other = join(local, 'other_key');
    require('node:child_process').execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      other,
    ]);
    const error = await connectSsh({ ...options(), privateKeyPath: other }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_AUTH_FAILED');
    expect(error.message).toContain(`refused every key offered for user ${sshd.username}`);
  });

  it('fails a command cleanly when the connection drops while it runs', async () => {
    const dropping = await connectSsh(options());
    let dropped = false;
    const error = await dropping
      .exec('echo started; sleep 30', {
        onStdout: (c) => {
          if (!dropped && c.toString().includes('started')) {
            dropped = true;
            sshd.dropConnections();
          }
        },
      })
      .catch((e) => e);
    expect(dropped).toBe(true);
    expect(ToilError.is(error) && error.code).toBe('SSH_CONNECTION_LOST');
    expect(error.message).toContain('was lost while trying to run echo started; sleep 30');
    expect(dropping.isOpen).toBe(false);
    const after = await dropping.exec('true').catch((e) => e);
    expect(ToilError.is(after) && after.code).toBe('SSH_CONNECTION_LOST');
    expect(statSync(sshd.dir).isDirectory()).toBe(true);
  });
});
