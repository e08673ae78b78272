import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { runCommand, type CommandResult } from '../cli.js';

/** The host keys a node's console shows, as cloud-init prints them (see README.md). */
export interface ConsoleHostKeys {
  /** `SHA256:…` of each line of the `SSH HOST KEY FINGERPRINTS` block. */
  readonly fingerprints: string[];
  /** `TYPE BASE64 COMMENT` of each line of the `SSH HOST KEY KEYS` block. */
  readonly publicKeys: string[];
}

/** Reads cloud-init's two host-key blocks from a console; throws when either is missing. */
export function consoleHostKeys(consoleText: string): ConsoleHostKeys {
  const fingerprints = /-----BEGIN SSH HOST KEY FINGERPRINTS-----\n([\s\S]*?)\nec2: -----END/.exec(
    consoleText,
  );
  const keys = /-----BEGIN SSH HOST KEY KEYS-----\n([\s\S]*?)\n-----END/.exec(consoleText);
  if (!fingerprints || !keys) throw new Error(`no host-key blocks on the console:\n${consoleText}`);
  return {
    fingerprints: fingerprints[1]!.split('\n').map((line) => line.split(' ')[2]!),
    publicKeys: keys[1]!.split('\n'),
  };
}

/**
 * Writes a known_hosts file that trusts these public keys (`TYPE BASE64 …`) for `address`, and
 * returns the keys' own SHA256 fingerprints as `ssh-keygen -l` computes them, sorted.
 */
export function writeKnownHosts(file: string, address: string, publicKeys: string[]): string[] {
  writeFileSync(
    file,
    publicKeys.map((k) => `${address} ${k.split(' ').slice(0, 2).join(' ')}\n`).join(''),
  );
  const printed = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], {
    encoding: 'utf8',
  });
  return printed.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[1]!)
    .sort();
}

/** OpenSSH's client with a key and only the given known_hosts file: strict, no prompts. */
export function strictSsh(
  key: string,
  knownHosts: string,
  target: string,
  command: string,
): Promise<CommandResult> {
  return runCommand([
    'ssh',
    '-i',
    key,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'ConnectTimeout=10',
    target,
    command,
  ]);
}
