import type { HostKeyFingerprint } from '@toil/provisioner';

/**
 * Stage 1 of the node bootstrap on Compute Engine: cloud-init user data (the `user-data`
 * metadata key, which cloud-init on Ubuntu's GCE images reads) that only makes the node
 * reachable: the login user with the launcher's public key and sudo, and the host keys'
 * fingerprints printed to the serial console, where the launcher reads and pins them. It
 * holds no secret. JSON is YAML, so the document is written as JSON after the header.
 */
export function stageOneUserData(sshUser: string, sshPublicKey: string): string {
  const config = {
    users: [
      {
        name: sshUser,
        ssh_authorized_keys: [sshPublicKey],
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        shell: '/bin/bash',
      },
    ],
    ssh_genkeytypes: ['ed25519', 'ecdsa'],
    ssh: { emit_keys_to_console: true },
    ssh_pwauth: false,
  };
  return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

const ALGORITHMS: Record<string, (bits: string) => string> = {
  ED25519: () => 'ssh-ed25519',
  RSA: () => 'ssh-rsa',
  ECDSA: (bits) => `ecdsa-sha2-nistp${bits === '521' ? '521' : bits === '384' ? '384' : '256'}`,
};

/**
 * The host-key fingerprints cloud-init printed between `-----BEGIN SSH HOST KEY
 * FINGERPRINTS-----` and `-----END…`, or `undefined` while the block is not complete.
 */
export function parseConsoleHostKeys(console: string): HostKeyFingerprint[] | undefined {
  const start = console.lastIndexOf('-----BEGIN SSH HOST KEY FINGERPRINTS-----');
  if (start < 0) return undefined;
  const end = console.indexOf('-----END SSH HOST KEY FINGERPRINTS-----', start);
  if (end < 0) return undefined;
  const keys: HostKeyFingerprint[] = [];
  for (const line of console.slice(start, end).split(/\r?\n/)) {
    const m = /(\d+)\s+(SHA256:[A-Za-z0-9+/]+)\s.*\((\w+)\)\s*$/.exec(line);
    const algorithm = m && ALGORITHMS[m[3]!.toUpperCase()];
    if (m && algorithm) keys.push({ algorithm: algorithm(m[1]!), sha256: m[2]! });
  }
  return keys.length > 0 ? keys : undefined;
}
