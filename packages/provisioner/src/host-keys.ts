import type { HostKeyFingerprint } from './contract.js';
import { HOST_KEY_TAG_PREFIX } from './tags.js';

/**
 * The tags that pin a node's host keys: one `toil-ts:host-key:<algorithm>` tag per key,
 * valued with the `SHA256:` fingerprint. Tags travel with the instance, so any machine that
 * finds the cluster later checks the same keys.
 */
export function hostKeyTags(keys: readonly HostKeyFingerprint[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [`${HOST_KEY_TAG_PREFIX}${k.algorithm}`, k.sha256]));
}

/** The host keys pinned in a node's tags (see {@link hostKeyTags}), sorted by algorithm. */
export function hostKeysFromTags(tags: Record<string, string>): HostKeyFingerprint[] {
  return Object.entries(tags)
    .filter(([key]) => key.startsWith(HOST_KEY_TAG_PREFIX))
    .map(([key, sha256]) => ({ algorithm: key.slice(HOST_KEY_TAG_PREFIX.length), sha256 }))
    .sort((a, b) => a.algorithm.localeCompare(b.algorithm));
}
