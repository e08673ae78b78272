import { createHash } from 'node:crypto';

/**
 * One SSH host key pinned for a node: the shape `@toil/provisioner` records from stage 1 of the
 * bootstrap (the fingerprints the node printed on its console at first boot).
 */
export interface PinnedHostKey {
  /** The key's algorithm as OpenSSH names it, e.g. `ssh-ed25519`. */
  algorithm: string;
  /** `SHA256:` + unpadded base64, as `ssh-keygen -l -E sha256` prints it. */
  sha256: string;
}

/** A host key a node presented during the SSH handshake. */
export interface PresentedHostKey {
  /** The algorithm named inside the key blob (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`). */
  algorithm: string;
  /** Its OpenSSH SHA256 fingerprint. */
  sha256: string;
  /** The public key blob (SSH wire format), base64: the second field of a known_hosts line. */
  base64: string;
}

/** The OpenSSH fingerprint of a public key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Reads the algorithm name that starts every SSH public key blob. */
export function algorithmOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** Describes a presented host key blob. */
export function describeHostKey(blob: Buffer): PresentedHostKey {
  return {
    algorithm: algorithmOf(blob),
    sha256: fingerprintOf(blob),
    base64: blob.toString('base64'),
  };
}

/** Normalises a fingerprint for comparison: the `SHA256:` prefix is optional, padding ignored. */
export function normaliseFingerprint(fingerprint: string): string {
  const bare = fingerprint
    .trim()
    .replace(/^SHA256:/i, '')
    .replace(/=+$/, '');
  return `SHA256:${bare}`;
}

/** True when the presented key's fingerprint is one of the pinned ones. */
export function isPinned(presented: PresentedHostKey, pinned: readonly PinnedHostKey[]): boolean {
  const wanted = new Set(pinned.map((k) => normaliseFingerprint(k.sha256)));
  return wanted.has(presented.sha256);
}

/**
 * The `HostKeyAlgorithms` OpenSSH should accept for a key of this algorithm (an RSA key is
 * used with the SHA-2 signature algorithms).
 */
export function hostKeyAlgorithmsFor(algorithm: string): string[] {
  if (algorithm === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [algorithm];
}

/**
 * One known_hosts line for a verified key: `host ALG BASE64`, with `[host]:port` when the port is
 * not 22 (OpenSSH's own form).
 */
export function knownHostsLine(host: string, port: number, key: PresentedHostKey): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${key.algorithm} ${key.base64}\n`;
}
