import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { report, ToilError, type IoHost } from '@toil/core';
import ssh2, { type ParsedKey } from 'ssh2';
import { CLUSTER_SSH_USAGE_ERROR_CODES } from './errors.js';

// Referenced so that bundlers keep errors.ts, which registers this package's usage codes.
void CLUSTER_SSH_USAGE_ERROR_CODES;

/** Where the keys to log in with come from. */
export interface CredentialOptions {
  /** A private key file (`--sshKey`): only this key is offered. */
  privateKeyPath?: string;
  /**
   * The ssh-agent socket; default `SSH_AUTH_SOCK`. `false` turns the agent off. Ignored when
   * {@link privateKeyPath} is given.
   */
  agent?: string | false;
  /** Home directory whose `~/.ssh/id_*` keys are tried when no key file is given. */
  homeDir?: string;
  /** Environment to read `SSH_AUTH_SOCK` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** The keys and agent a connection offers, in order. */
export interface Credentials {
  /** Private key files that were read, in the order they are offered. */
  keys: Array<{ path: string; key: ParsedKey }>;
  /** The agent socket, when one is used. */
  agent?: string;
  /** The key file given explicitly, if any (rsync passes it to ssh with `-i`). */
  explicitKeyPath?: string;
}

/** The key files OpenSSH tries by default, in its order. */
export const DEFAULT_KEY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

/**
 * Reads one private key file, refusing it as OpenSSH would: it must exist, be a regular file,
 * not be readable or writable by group or others, and parse as an unencrypted private key
 * (encrypted keys are used through the agent).
 */
export function readPrivateKey(path: string): ParsedKey {
  if (!existsSync(path))
    throw new ToilError('SSH_KEY_NOT_FOUND', `The SSH key file ${path} does not exist.`, {
      hint: 'Check the path given to --sshKey, or leave it out to use ssh-agent or ~/.ssh/id_*.',
      data: { path },
    });
  const stat = statSync(path);
  if (!stat.isFile())
    throw new ToilError('SSH_KEY_INVALID', `The SSH key ${path} is not a regular file.`, {
      hint: 'Point --sshKey at a private key file such as ~/.ssh/id_ed25519.',
      data: { path },
    });
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new ToilError(
      'SSH_KEY_PERMISSIONS',
      `The SSH key file ${path} is accessible by other users (mode ${mode.toString(8).padStart(4, '0')}); a private key must be private.`,
      { hint: `Run: chmod 600 '${path}'`, data: { path, mode } },
    );
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (cause) {
    throw new ToilError('SSH_KEY_INVALID', `Cannot read the SSH key file ${path}.`, {
      cause,
      hint: 'Check that you own the file and can read it.',
      data: { path },
    });
  }
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) {
    const reason = key instanceof Error ? key.message : 'not a private key';
    const encrypted = /encrypt|passphrase/i.test(reason);
    throw new ToilError('SSH_KEY_INVALID', `The SSH key file ${path} is not usable: ${reason}.`, {
      hint: encrypted
        ? `The key is encrypted: load it into ssh-agent (ssh-add '${path}') and leave out --sshKey.`
        : 'Give the private key (not the .pub file) in OpenSSH or PEM format.',
      data: { path },
    });
  }
  return key;
}

/**
 * Works out what a connection logs in with: the `--sshKey` file alone when given; otherwise the
 * agent (`SSH_AUTH_SOCK`) and the usable default keys in `~/.ssh`. Unusable default keys are
 * skipped with a warning event, as ssh does.
 */
export function resolveCredentials(options: CredentialOptions, io: IoHost): Credentials {
  if (options.privateKeyPath !== undefined) {
    return {
      keys: [{ path: options.privateKeyPath, key: readPrivateKey(options.privateKeyPath) }],
      explicitKeyPath: options.privateKeyPath,
    };
  }
  const env = options.env ?? process.env;
  const agent =
    options.agent === false ? undefined : (options.agent ?? env.SSH_AUTH_SOCK ?? undefined);
  const keys: Credentials['keys'] = [];
  const sshDir = join(options.homeDir ?? homedir(), '.ssh');
  for (const name of DEFAULT_KEY_NAMES) {
    const path = join(sshDir, name);
    if (!existsSync(path)) continue;
    try {
      keys.push({ path, key: readPrivateKey(path) });
    } catch (error) {
      report(
        io,
        'warning',
        'SSH_KEY_SKIPPED',
        `Skipping ${path}: ${ToilError.is(error) ? error.message : String(error)}`,
        { path },
        'toil.ssh',
      );
    }
  }
  if (keys.length === 0 && !agent)
    throw new ToilError('SSH_NO_CREDENTIALS', 'No SSH key to log in with.', {
      hint: 'Pass --sshKey FILE, start ssh-agent and ssh-add your key, or create ~/.ssh/id_ed25519.',
    });
  return { keys, ...(agent ? { agent } : {}) };
}
