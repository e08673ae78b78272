import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';

/** One login user of stage 1 (cloud-init `users:` entry, or the image's default user). */
export interface StageOneUser {
  readonly name: string;
  readonly sshAuthorizedKeys: readonly string[];
  /** sudoers rule lines (`ALL=(ALL) NOPASSWD:ALL`), empty for none. */
  readonly sudo: readonly string[];
  readonly shell: string;
  readonly groups: readonly string[];
  /** cloud-init's `uid`: the user's numeric id, when given. */
  readonly uid?: number;
}

/** A `write_files:` entry. */
export interface StageOneFile {
  readonly path: string;
  readonly content: Buffer;
  /** Octal mode, e.g. `0644`. */
  readonly permissions?: string;
  /** `user:group`. */
  readonly owner?: string;
  readonly append: boolean;
  /** Written at the final stage (after users exist). */
  readonly defer: boolean;
}

/** What the simulated node honours of an instance's user data (cloud-init stage 1). */
export interface StageOne {
  readonly users: readonly StageOneUser[];
  readonly writeFiles: readonly StageOneFile[];
  /** Shell commands run as root before anything else (`bootcmd`). */
  readonly bootcmd: readonly string[];
  /** Shell commands run as root at the end (`runcmd`, or a `#!` user-data script). */
  readonly runcmd: readonly string[];
  /** A `#!` user-data script, run as root at the final stage. */
  readonly script?: string;
  /** Host key types to generate (`ssh_genkeytypes`). */
  readonly hostKeyTypes: readonly string[];
  /** Whether host-key fingerprints and keys go to the console (`ssh.emit_keys_to_console`). */
  readonly keysToConsole: boolean;
  /** Key types left out of the console's fingerprint block (`ssh_fp_console_blacklist`). */
  readonly fingerprintBlacklist: readonly string[];
  /** Key types left out of the console's key block (`ssh_key_console_blacklist`). */
  readonly keyBlacklist: readonly string[];
}

/** The image's default login user (Debian's cloud images call it `admin`). */
export const DEFAULT_USER = 'admin';
/**
 * Host key types generated when user data names none. cloud-init's default also has `rsa`,
 * left out here because a 3072-bit RSA key takes seconds on a busy 2-core machine.
 */
export const DEFAULT_HOST_KEY_TYPES = ['ed25519', 'ecdsa'] as const;

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

function strings(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw new Error(`user data: ${what} must be a list`);
  return value.map((item) => {
    if (typeof item === 'string') return item;
    if (Array.isArray(item)) return item.map((word) => shellQuote(String(word))).join(' ');
    throw new Error(`user data: ${what} has an entry that is not a string`);
  });
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function user(entry: unknown, defaultKeys: string[]): StageOneUser | undefined {
  if (entry === 'default')
    return {
      name: DEFAULT_USER,
      sshAuthorizedKeys: defaultKeys,
      sudo: ['ALL=(ALL) NOPASSWD:ALL'],
      shell: '/bin/bash',
      groups: [],
    };
  if (typeof entry === 'string') entry = { name: entry };
  if (!entry || typeof entry !== 'object') throw new Error('user data: a users entry is not a map');
  const e = entry as Record<string, unknown>;
  const name = e.name;
  if (typeof name !== 'string' || !NAME.test(name))
    throw new Error(`user data: user name ${JSON.stringify(name)} is not a valid login name`);
  const sudo = e.sudo === false || e.sudo === undefined ? [] : strings(e.sudo, 'sudo');
  const groups =
    typeof e.groups === 'string'
      ? e.groups.split(',').map((g) => g.trim())
      : strings(e.groups, 'groups');
  return {
    name,
    sshAuthorizedKeys: strings(e.ssh_authorized_keys, `ssh_authorized_keys of ${name}`),
    sudo,
    shell: typeof e.shell === 'string' ? e.shell : '/bin/bash',
    groups: groups.filter(Boolean),
    ...(e.uid === undefined ? {} : { uid: uidOf(e.uid, name) }),
  };
}

function uidOf(value: unknown, name: string): number {
  const uid = typeof value === 'string' ? Number(value) : value;
  if (typeof uid !== 'number' || !Number.isInteger(uid) || uid < 1 || uid > 60000)
    throw new Error(`user data: uid of ${name} is not a user id`);
  return uid;
}

function file(entry: unknown): StageOneFile {
  if (!entry || typeof entry !== 'object') throw new Error('user data: write_files entry');
  const e = entry as Record<string, unknown>;
  if (typeof e.path !== 'string' || !e.path.startsWith('/'))
    throw new Error('user data: write_files entry without an absolute path');
  const raw = typeof e.content === 'string' ? e.content : '';
  const encoding = typeof e.encoding === 'string' ? e.encoding.toLowerCase() : 'text/plain';
  let content: Buffer;
  if (['b64', 'base64'].includes(encoding)) content = Buffer.from(raw, 'base64');
  else if (['gz+b64', 'gzip+base64', 'gz+base64', 'gzip+b64'].includes(encoding))
    content = gunzipSync(Buffer.from(raw, 'base64'));
  else content = Buffer.from(raw);
  return {
    path: e.path,
    content,
    permissions: typeof e.permissions === 'string' ? e.permissions : undefined,
    owner: typeof e.owner === 'string' ? e.owner : undefined,
    append: e.append === true,
    defer: e.defer === true,
  };
}

/** Decodes user data as EC2 returns it (base64, possibly gzipped) to text. */
export function decodeUserData(base64: string | undefined): string {
  if (!base64) return '';
  let bytes = Buffer.from(base64, 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return bytes.toString('utf8');
}

/**
 * Reads stage 1 from user data text: `#cloud-config` (users, ssh_authorized_keys,
 * write_files, bootcmd, runcmd, ssh_genkeytypes, ssh.emit_keys_to_console and the console
 * blacklists) or a `#!` script. Empty user data gives the image's default user with no key.
 * Anything else (MIME multipart, `#include`) is refused: a simulated node must not silently
 * differ from a real one.
 */
export function parseStageOne(userData: string): StageOne {
  const base: StageOne = {
    users: [],
    writeFiles: [],
    bootcmd: [],
    runcmd: [],
    hostKeyTypes: [...DEFAULT_HOST_KEY_TYPES],
    keysToConsole: true,
    fingerprintBlacklist: [],
    keyBlacklist: [],
  };
  if (userData.trim() === '') return { ...base, users: [user('default', [])!] };
  if (userData.startsWith('#!'))
    return { ...base, users: [user('default', [])!], script: userData };
  if (!userData.startsWith('#cloud-config'))
    throw new Error(
      `user data starts with ${JSON.stringify(userData.split('\n')[0]!.slice(0, 40))}: the simulated cloud honours #cloud-config and #! scripts only`,
    );
  const doc = (parse(userData) ?? {}) as Record<string, unknown>;
  const defaultKeys = strings(doc.ssh_authorized_keys, 'ssh_authorized_keys');
  const entries = doc.users === undefined ? ['default'] : (doc.users as unknown[]);
  if (!Array.isArray(entries)) throw new Error('user data: users must be a list');
  const users = entries
    .map((entry) => user(entry, defaultKeys))
    .filter((u): u is StageOneUser => u !== undefined);
  const ssh = (doc.ssh ?? {}) as Record<string, unknown>;
  return {
    users,
    writeFiles: (Array.isArray(doc.write_files) ? doc.write_files : []).map(file),
    bootcmd: strings(doc.bootcmd, 'bootcmd'),
    runcmd: strings(doc.runcmd, 'runcmd'),
    hostKeyTypes: doc.ssh_genkeytypes
      ? strings(doc.ssh_genkeytypes, 'ssh_genkeytypes')
      : [...DEFAULT_HOST_KEY_TYPES],
    keysToConsole: ssh.emit_keys_to_console !== false,
    fingerprintBlacklist: strings(doc.ssh_fp_console_blacklist, 'ssh_fp_console_blacklist'),
    keyBlacklist: strings(doc.ssh_key_console_blacklist, 'ssh_key_console_blacklist'),
  };
}
