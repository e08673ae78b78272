import { createServer, type Server, type Socket } from 'node:net';
import { RecordingHost, ToilError } from '@toil/core';
import { waitForSsh } from '@toil/cluster-ssh';
import {
  describeWithSshd,
  freePort,
  startSshd,
  type TestSshd,
} from '../../../tooling/test-env/sshd.js';

describeWithSshd('waiting for SSH on a node', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const base = () => ({
    host: '127.0.0.1',
    username: sshd.username,
    hostKeys: sshd.hostKeys,
    privateKeyPath: sshd.clientKeyPath,
    io: new RecordingHost(),
    intervalMs: 100,
  });

  it('returns an open connection once the node accepts SSH', async () => {
    const io = new RecordingHost();
    const connection = await waitForSsh({ ...base(), port: sshd.port, io, timeoutMs: 30_000 });
    try {
      expect((await connection.execCapture('whoami')).stdout).toBe(`${sshd.username}\n`);
      expect(io.withCode('SSH_WAIT').map((e) => e.span?.phase)).toEqual(['start', 'end']);
    } finally {
      connection.close();
    }
  });

  it('times out naming the TCP phase when nothing listens on the port', async () => {
    const port = await freePort();
    const error = await waitForSsh({ ...base(), port, timeoutMs: 1_500 }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_TIMEOUT');
    expect(error.message).toMatch(
      /^Timed out after 1\.5s waiting for the SSH port to accept TCP connections on 127\.0\.0\.1:\d+ \(phase: tcp\)\./,
    );
    expect(error.data.phase).toBe('tcp');
  });

  it('times out naming the handshake phase when the port accepts but never speaks SSH', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await waitForSsh({ ...base(), port, timeoutMs: 2_000 }).catch((e) => e);
      expect(ToilError.is(error) && error.code).toBe('SSH_TIMEOUT');
      expect(error.data.phase).toBe('handshake');
      expect(error.message).toContain('waiting for the SSH server to answer the handshake');
      expect(error.hint).toContain('console');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('times out naming the login phase when the node never accepts the key', async () => {
    const other = `${sshd.dir}/not-authorized`;
    require('node:child_process').execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      other,
    ]);
    const error = await waitForSsh({
      ...base(),
      port: sshd.port,
      privateKeyPath: other,
      timeoutMs: 2_000,
    }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_TIMEOUT');
    expect(error.data.phase).toBe('login');
    expect(error.message).toContain('waiting for the node to accept the login key');
  });

  it('refuses a mismatched host key at once instead of waiting', async () => {
    const error = await waitForSsh({
      ...base(),
      port: sshd.port,
      hostKeys: [
        { algorithm: 'ssh-ed25519', sha256: 'SHA256:wrongwrongwrongwrongwrongwrongwrongwrongwro' },
      ],
      timeoutMs: 60_000,
    }).catch((e) => e);
    expect(ToilError.is(error) && error.code).toBe('SSH_HOST_KEY_MISMATCH');
  });
});
