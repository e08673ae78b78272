import type { HostKeyFingerprint } from '../contract.js';

/** The prefix of the console lines on which stage 1 prints the node's host-key fingerprints. */
export const HOST_KEY_CONSOLE_PREFIX = 'toil-ts-host-key:';

/** What stage 1 needs: who logs in, with which key. Nothing secret goes here. */
export interface Stage1Input {
  /** The login user to create (with passwordless sudo). */
  sshUser: string;
  /** The launcher's public key, one OpenSSH line. */
  sshPublicKey: string;
  /** The cluster's name, written to /etc/toil-ts/cluster for people logged in. */
  clusterName: string;
  /**
   * The login user's numeric id (cloud-init `uid`): nodes a leader starts get its login
   * user's, since Slurm runs a job as the submitter's uid on every node.
   */
  uid?: number;
}

const LINE = /^[\x20-\x7e]+$/;

/**
 * Renders stage 1 of the node bootstrap as cloud-init user data (`#cloud-config`). It only
 * makes the node reachable: the login user with the launcher's public key and sudo, password
 * login off, and the node's SSH host-key fingerprints printed to the console (lines starting
 * with {@link HOST_KEY_CONSOLE_PREFIX}) so the launcher can pin them. It holds no secret:
 * user data is readable by anyone on the node and through the cloud API.
 *
 * The document is JSON, which is YAML, so no value can break out of its field.
 *
 * @throws Error when an input has characters a single-line field cannot hold.
 */
export function renderStage1UserData(input: Stage1Input): string {
  const { uid, ...lines } = input;
  for (const [field, value] of Object.entries(lines))
    if (!LINE.test(value)) throw new Error(`stage 1: ${field} must be one printable line`);
  if (uid !== undefined && !(Number.isInteger(uid) && uid > 0))
    throw new Error('stage 1: uid must be a positive whole number');
  const printKeys =
    'for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -E sha256 -f "$f"; done' +
    ` | sed 's/^/${HOST_KEY_CONSOLE_PREFIX} /' > /dev/console`;
  const config = {
    users: [
      {
        name: input.sshUser,
        ...(uid === undefined ? {} : { uid }),
        shell: '/bin/bash',
        lock_passwd: true,
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        ssh_authorized_keys: [input.sshPublicKey],
      },
    ],
    ssh_pwauth: false,
    disable_root: true,
    write_files: [
      {
        path: '/etc/toil-ts/cluster',
        permissions: '0644',
        content: `${input.clusterName}\n`,
      },
    ],
    runcmd: [['sh', '-c', printKeys]],
  };
  return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

const ALGORITHMS: Record<string, (bits: number) => string> = {
  ED25519: () => 'ssh-ed25519',
  RSA: () => 'ssh-rsa',
  DSA: () => 'ssh-dss',
  ECDSA: (bits) => `ecdsa-sha2-nistp${bits}`,
};

/**
 * Reads the host-key fingerprints a node printed on its console: the lines stage 1 writes
 * (`toil-ts-host-key: 256 SHA256:… root@host (ED25519)`) and, on images whose cloud-init
 * prints its own block, its `ec2: 256 SHA256:… (ED25519)` lines. The last fingerprint per
 * algorithm wins (a rebooted node prints them again).
 */
export function parseHostKeyFingerprints(consoleText: string): HostKeyFingerprint[] {
  const found = new Map<string, string>();
  const pattern = new RegExp(
    `(?:${HOST_KEY_CONSOLE_PREFIX}|ec2:)\\s+(\\d+)\\s+(SHA256:[A-Za-z0-9+/]+)\\b.*\\((ED25519|RSA|DSA|ECDSA)\\)\\s*$`,
  );
  for (const line of consoleText.split(/\r?\n/)) {
    const match = pattern.exec(line);
    if (!match) continue;
    const algorithm = ALGORITHMS[match[3]!]!(Number(match[1]));
    found.set(algorithm, match[2]!);
  }
  return [...found]
    .map(([algorithm, sha256]) => ({ algorithm, sha256 }))
    .sort((a, b) => a.algorithm.localeCompare(b.algorithm));
}
