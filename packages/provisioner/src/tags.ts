import { ToilError } from '@toil/core';
import './errors.js';

/** The tag that names a node's cluster (as Toil tags it); clusters are found by it. */
export const CLUSTER_NAME_TAG = 'clusterName';
/** The tag that says a node's role: `leader` or `worker` (Toil's `ToilNodeType`). */
export const NODE_ROLE_TAG = 'ToilNodeType';
/** The tag holding the SSH login user stage 1 made. */
export const SSH_USER_TAG = 'toil-ts:ssh-user';
/** Prefix of the tags holding pinned host-key fingerprints: `toil-ts:host-key:ssh-ed25519`. */
export const HOST_KEY_TAG_PREFIX = 'toil-ts:host-key:';
/** The tag set on every resource toil-ts created for a cluster (groups, roles, profiles). */
export const CREATED_BY_TAG = 'toil-ts:created-by';

const TAG_HINT = 'Write tags as -t NAME=VALUE (one = sign), e.g. -t project=genomics.';

/**
 * Parses `-t/--tag NAME=VALUE` options. As in Toil, each must contain exactly one `=`.
 *
 * @throws ToilError `TAG_INVALID` for a tag without `=`, with several, or with an empty name.
 */
export function parseTagOptions(tags: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) {
    const parts = tag.split('=');
    if (parts.length !== 2)
      throw new ToilError(
        'TAG_INVALID',
        parts.length < 2
          ? `Tag specification '${tag}' must contain '='.`
          : `Tag specification '${tag}' must contain only one '='.`,
        { hint: TAG_HINT, data: { tag } },
      );
    const [key, value] = parts as [string, string];
    if (key.trim() === '')
      throw new ToilError('TAG_INVALID', `Tag specification '${tag}' has an empty name.`, {
        hint: TAG_HINT,
        data: { tag },
      });
    out[key] = value;
  }
  return out;
}

/**
 * The user tags when no `-t` is given, from the environment as in Toil: `TOIL_OWNER_TAG`
 * becomes `Owner`, and `TOIL_AWS_TAGS` is a JSON object of string values.
 *
 * @throws ToilError `TAG_INVALID` when `TOIL_AWS_TAGS` is not a JSON object of strings.
 */
export function tagsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  if (env.TOIL_OWNER_TAG) out.Owner = env.TOIL_OWNER_TAG;
  const raw = env.TOIL_AWS_TAGS;
  if (raw === undefined || raw === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    Object.values(parsed).some((v) => typeof v !== 'string')
  )
    throw new ToilError(
      'TAG_INVALID',
      'TOIL_AWS_TAGS must be in JSON format: {"key" : "value", ...}',
      { hint: 'Set TOIL_AWS_TAGS to a JSON object of string values, or unset it.' },
    );
  return { ...out, ...(parsed as Record<string, string>) };
}

/**
 * The cluster's owner as Toil resolves it: `--owner`, else `TOIL_OWNER_TAG`, else the key
 * pair name, else `toil`.
 */
export function resolveOwner(
  options: { owner?: string; keyPairName?: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  return options.owner || env.TOIL_OWNER_TAG || options.keyPairName || 'toil';
}

/**
 * The user tags of a launch: the `-t` options when any were given, else those from the
 * environment ({@link tagsFromEnvironment}), as in Toil.
 */
export function resolveUserTags(
  tagOptions: readonly string[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return tagOptions && tagOptions.length > 0
    ? parseTagOptions(tagOptions)
    : tagsFromEnvironment(env);
}

/**
 * The tags every resource of a cluster carries: `Name`, `Owner` and `clusterName` (as in
 * Toil), then the user tags, which may override `Name` and `Owner` but not `clusterName`
 * (clusters are found by it).
 *
 * @throws ToilError `TAG_INVALID` when a user tag would change `clusterName` or uses a
 *   reserved prefix (`aws:`, `toil-ts:`).
 */
export function clusterTags(
  clusterName: string,
  owner: string,
  userTags: Record<string, string> = {},
): Record<string, string> {
  for (const key of Object.keys(userTags)) {
    if (key === CLUSTER_NAME_TAG || key === NODE_ROLE_TAG || /^(aws|toil-ts):/i.test(key))
      throw new ToilError('TAG_INVALID', `The tag '${key}' is reserved for toil.`, {
        hint: 'Choose another tag name.',
        data: { tag: key },
      });
    if (key.length > 128 || (userTags[key] ?? '').length > 256)
      throw new ToilError(
        'TAG_INVALID',
        `The tag '${key.slice(0, 40)}' is too long (names up to 128 characters, values up to 256).`,
        { hint: 'Shorten the tag.' },
      );
  }
  return { Name: clusterName, Owner: owner, ...userTags, [CLUSTER_NAME_TAG]: clusterName };
}
