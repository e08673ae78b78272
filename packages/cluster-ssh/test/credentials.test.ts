import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUsageError, RecordingHost, ToilError } from '@toil/core';
import { readPrivateKey, resolveCredentials } from '@toil/cluster-ssh';

describe('SSH credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-ts-keys-'));
  const key = join(dir, 'id_ed25519');
  beforeAll(() => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a private key with mode 0600', () => {
    expect(readPrivateKey(key).type).toBe('ssh-ed25519');
  });

  it('refuses a key file that does not exist, as a usage error', () => {
    const error = (() => {
      try {
        readPrivateKey(join(dir, 'missing'));
      } catch (e) {
        return e;
      }
    })();
    expect(ToilError.is(error) && error.code).toBe('SSH_KEY_NOT_FOUND');
    expect(isUsageError(error)).toBe(true);
    expect((error as ToilError).message).toBe(
      `The SSH key file ${join(dir, 'missing')} does not exist.`,
    );
  });

  it('refuses a key file other users can read, saying how to fix it', () => {
    const loose = join(dir, 'loose');
    writeFileSync(loose, '');
    execFileSync('cp', [key, loose]);
    chmodSync(loose, 0o644);
    let error: unknown;
    try {
      readPrivateKey(loose);
    } catch (e) {
      error = e;
    }
    expect(ToilError.is(error) && error.code).toBe('SSH_KEY_PERMISSIONS');
    expect(isUsageError(error)).toBe(true);
    expect((error as ToilError).message).toContain('(mode 0644)');
    expect((error as ToilError).hint).toBe(`Run: chmod 600 '${loose}'`);
  });

  it('refuses a public key or garbage given as the private key', () => {
    chmodSync(`${key}.pub`, 0o600);
    expect(() => readPrivateKey(`${key}.pub`)).toThrow(/is not usable/);
  });

  it('sends an encrypted key to the agent in its hint', () => {
    const encrypted = join(dir, 'encrypted');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-f', encrypted]);
    let error: unknown;
    try {
      readPrivateKey(encrypted);
    } catch (e) {
      error = e;
    }
    expect(ToilError.is(error) && error.code).toBe('SSH_KEY_INVALID');
    expect((error as ToilError).hint).toContain('ssh-add');
  });

  it('uses the agent and the usable default keys, skipping unusable ones with a warning', () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    execFileSync('cp', [key, join(home, '.ssh', 'id_ed25519')]);
    execFileSync('cp', [key, join(home, '.ssh', 'id_rsa')]);
    chmodSync(join(home, '.ssh', 'id_rsa'), 0o644);
    const io = new RecordingHost();
    const credentials = resolveCredentials(
      { homeDir: home, env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } },
      io,
    );
    expect(credentials.agent).toBe('/tmp/agent.sock');
    expect(credentials.keys.map((k) => k.path)).toEqual([join(home, '.ssh', 'id_ed25519')]);
    expect(io.withCode('SSH_KEY_SKIPPED')[0]?.message).toContain('id_rsa');
  });

  it('says what to do when there is no key and no agent', () => {
    const empty = join(dir, 'empty-home');
    mkdirSync(empty);
    expect(() => resolveCredentials({ homeDir: empty, env: {} }, new RecordingHost())).toThrow(
      'No SSH key to log in with.',
    );
  });
});
