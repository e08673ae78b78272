import { ToilError } from '@toil/core';
import './errors.js';

/** The longest cluster name: leaves room for the suffixes of node, role and rule names. */
export const MAX_CLUSTER_NAME_LENGTH = 50;

const HINT = 'Use lowercase letters, digits and "-", starting with a letter, e.g. my-cluster.';

/**
 * Checks a cluster name before any cloud call. Toil's rule (lowercase, no `_`, with Toil's
 * message) plus what every cloud's resource names need: letters, digits and `-`, starting
 * with a letter, not ending with `-`, at most {@link MAX_CLUSTER_NAME_LENGTH} characters.
 *
 * @returns the name, unchanged.
 * @throws ToilError `CLUSTER_NAME_INVALID` (a usage error).
 */
export function checkClusterName(name: string): string {
  const fail = (message: string): never => {
    throw new ToilError('CLUSTER_NAME_INVALID', message, { hint: HINT, data: { name } });
  };
  if (name.length === 0) fail('The cluster name is empty.');
  if (/[A-Z_]/.test(name))
    fail("The cluster name must be lowercase and cannot contain the '_' character.");
  if (!/^[a-z0-9-]+$/.test(name))
    fail(
      `The cluster name ${JSON.stringify(name)} may contain only lowercase letters, digits and '-'.`,
    );
  if (!/^[a-z]/.test(name)) fail(`The cluster name "${name}" must start with a letter.`);
  if (name.endsWith('-')) fail(`The cluster name "${name}" must not end with '-'.`);
  if (name.length > MAX_CLUSTER_NAME_LENGTH)
    fail(
      `The cluster name "${name}" is ${name.length} characters long; the limit is ${MAX_CLUSTER_NAME_LENGTH}.`,
    );
  return name;
}
