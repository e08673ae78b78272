import { resolve } from 'node:path';
import { ToilError } from '@toil/core';
import {
  invalidLocator,
  isSchemeName,
  loadJobStoreBackend,
  registeredJobStoreBackend,
} from './backends.js';
import type { FileJobStoreLocator, JobStoreLocator } from './contract.js';

/** Parses the path of a `file:` locator (bare or after `file:`), made absolute. */
export function parseFileLocator(path: string, text: string): FileJobStoreLocator {
  if (path === '') throw invalidLocator(text, 'file: needs a path, e.g. file:./my-jobstore');
  const absolute = resolve(path);
  return { kind: 'file', path: absolute, locator: `file:${absolute}` };
}

/** Checks the text of a locator and splits off its scheme; a bare path has scheme `file`. */
function splitLocator(text: string): { scheme: string; rest: string } {
  if (typeof text !== 'string' || text.trim() === '')
    throw invalidLocator(String(text), 'the locator is empty');
  if (text.includes('\0'))
    throw invalidLocator(text.replace(/\0/g, '\\0'), 'it contains a NUL byte');
  const colon = text.indexOf(':');
  if (text.startsWith('/') || text.startsWith('.') || colon < 0)
    return { scheme: 'file', rest: text };
  return { scheme: text.slice(0, colon), rest: text.slice(colon + 1) };
}

/**
 * Parses a job store locator the way Toil does, with the backends registered in this process:
 * `file:PATH`, a bare or relative path (a file store; made absolute against the current
 * directory), or `SCHEME:...` of a registered backend (`aws:REGION:NAME` once
 * `@toil/jobstore-aws` is loaded). No I/O. Throws `JOBSTORE_LOCATOR_INVALID` for a bad
 * locator, and `JOBSTORE_BACKEND_MISSING` for a scheme whose backend is not loaded yet: use
 * {@link resolveLocator} (or `openJobStore`), which loads it.
 */
export function parseLocator(text: string): JobStoreLocator {
  const { scheme, rest } = splitLocator(text);
  if (scheme === 'file') return parseFileLocator(rest, text);
  const backend = registeredJobStoreBackend(scheme);
  if (backend) return backend.parse(rest, text);
  if (!isSchemeName(scheme))
    throw invalidLocator(text, `unknown job store implementation '${scheme}'`);
  throw new ToilError(
    'JOBSTORE_BACKEND_MISSING',
    `No job store backend for '${scheme}:' is loaded to parse '${text}'.`,
    { hint: 'Use resolveLocator() or openJobStore(), which load the backend by its scheme.' },
  );
}

/**
 * {@link parseLocator}, loading the backend of the locator's scheme first when it is not
 * registered (`aws:` loads `@toil/jobstore-aws`). Throws `JOBSTORE_LOCATOR_INVALID` or
 * `JOBSTORE_BACKEND_MISSING` (naming the package to install).
 */
export async function resolveLocator(locator: string | JobStoreLocator): Promise<JobStoreLocator> {
  if (typeof locator === 'object' && locator !== null && 'kind' in locator) return locator;
  const { scheme, rest } = splitLocator(locator);
  if (scheme === 'file') return parseFileLocator(rest, locator);
  const backend = await loadJobStoreBackend(scheme, locator);
  return backend.parse(rest, locator);
}

/**
 * For a backend's constructor: `locator` parsed when it is of `kind`, else `INVALID_ARGUMENT`
 * naming the backend class.
 */
export function toLocatorOfKind<L extends JobStoreLocator>(
  locator: string | JobStoreLocator,
  kind: L['kind'],
  backend: string,
): L {
  const parsed = typeof locator === 'string' ? parseLocator(locator) : locator;
  if (parsed.kind !== kind)
    throw new ToilError('INVALID_ARGUMENT', `${backend} cannot open '${parsed.locator}'.`, {
      hint: 'Use openJobStore() to pick the backend from the locator.',
    });
  return parsed as L;
}
