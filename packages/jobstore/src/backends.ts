import { ToilError, type IoHost } from '@toil/core';
import type { JobStore, JobStoreLocator } from './contract.js';

declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    /** A locator's scheme needs a backend package that is not installed. */
    JOBSTORE_BACKEND_MISSING: true;
  }
}

/** Options of `openJobStore`, handed to the backend's {@link JobStoreBackend.open}. */
export interface OpenJobStoreOptions {
  /** Where the store reports progress and warnings (destroy progress spans). */
  host?: IoHost;
  /**
   * Backends that list in pages (`aws:`): objects per page (default: the service maximum).
   * Smaller pages exist for tests that must exercise pagination.
   */
  listPageSize?: number;
}

/**
 * A job store backend other than the built-in `file:`: one locator scheme (`file`, `aws`, ...), how to parse the rest of a
 * locator and how to open a store. A backend package exports one as `jobStoreBackend` and
 * registers it when imported; {@link registerJobStoreBackend} plugs in any other.
 */
export interface JobStoreBackend {
  /** The scheme before the first `:` (lowercase letters, digits, `-`), e.g. `aws`. */
  readonly scheme: string;
  /** How a locator of this scheme is written, for messages, e.g. `aws:REGION:NAME`. */
  readonly syntax: string;
  /**
   * Parses the text after `SCHEME:` (`text` is the whole locator, for messages). No I/O.
   * Throws `JOBSTORE_LOCATOR_INVALID` (see {@link invalidLocator}).
   */
  parse(rest: string, text: string): JobStoreLocator;
  /** Opens a store by parsed locator without I/O. */
  open(locator: JobStoreLocator, options: OpenJobStoreOptions): JobStore;
}

/**
 * The backends published as their own packages, for the "install X" hint of a locator whose
 * backend is missing. Any other scheme `S` is still looked up as `@toil/jobstore-S`.
 */
const PUBLISHED: Record<string, { package: string; syntax: string }> = {
  aws: { package: '@toil/jobstore-aws', syntax: 'aws:REGION:NAME' },
};

const FILE_SYNTAX = 'file:PATH (or a bare path)';
const REGISTRY_KEY = Symbol.for('@toil/jobstore/backends');
const SCHEME = /^[a-z][a-z0-9-]*$/;

function registry(): Map<string, JobStoreBackend> {
  // On globalThis, so that two installed copies of this package share their backends.
  const global = globalThis as unknown as Record<symbol, Map<string, JobStoreBackend> | undefined>;
  return (global[REGISTRY_KEY] ??= new Map());
}

/**
 * Makes locators `SCHEME:...` open with `backend`. Registering a scheme again replaces its
 * backend. Throws `INVALID_ARGUMENT` for `file` (built in) and for a scheme that is not
 * lowercase letters, digits and `-`.
 */
export function registerJobStoreBackend(backend: JobStoreBackend): void {
  if (!SCHEME.test(backend.scheme) || backend.scheme === 'file')
    throw new ToilError('INVALID_ARGUMENT', `'${backend.scheme}' is not a job store scheme.`, {
      hint: 'A scheme is lowercase letters, digits and dashes, starting with a letter.',
    });
  registry().set(backend.scheme, backend);
}

/** The registered backend of `scheme`, if any (no loading). */
export function registeredJobStoreBackend(scheme: string): JobStoreBackend | undefined {
  return registry().get(scheme);
}

/** The package that provides the backend of `scheme`: `@toil/jobstore-SCHEME`. */
export function backendPackageName(scheme: string): string {
  return PUBLISHED[scheme]?.package ?? `@toil/jobstore-${scheme}`;
}

/** The locator forms this process can open now, and the ones a package would add, for hints. */
export function supportedLocators(): string {
  const known = [FILE_SYNTAX, ...[...registry().values()].map((backend) => backend.syntax)];
  const installable = Object.entries(PUBLISHED)
    .filter(([scheme]) => !registry().has(scheme))
    .map(([, entry]) => `${entry.syntax} (with ${entry.package})`);
  return [...known, ...installable].join(', ');
}

/** `JOBSTORE_LOCATOR_INVALID` for `text`, with the supported forms as the default hint. */
export function invalidLocator(text: string, why: string, hint?: string): ToilError {
  return new ToilError('JOBSTORE_LOCATOR_INVALID', `Invalid job store locator '${text}': ${why}.`, {
    hint: hint ?? `Supported locators: ${supportedLocators()}.`,
    data: { locator: text },
  });
}

/** True for a text that names a scheme backends can register. */
export function isSchemeName(scheme: string): boolean {
  return SCHEME.test(scheme);
}

function isNotFound(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    String(message).includes(name)
  );
}

/**
 * The backend of `scheme`: the registered one, else the package `@toil/jobstore-SCHEME`
 * imported (resolved as any import of this package is, so from where `@toil/jobstore` is
 * installed) and registered from its `jobStoreBackend` export. Throws
 * `JOBSTORE_BACKEND_MISSING` naming the package to install for a published backend that is
 * not installed, and `JOBSTORE_LOCATOR_INVALID` for a scheme no package provides.
 */
export async function loadJobStoreBackend(
  scheme: string,
  text = `${scheme}:`,
): Promise<JobStoreBackend> {
  const registered = registry().get(scheme);
  if (registered) return registered;
  if (!isSchemeName(scheme))
    throw invalidLocator(text, `unknown job store implementation '${scheme}'`);
  const name = backendPackageName(scheme);
  let module: { jobStoreBackend?: JobStoreBackend };
  try {
    // A computed specifier: bundlers must not inline an optional backend.
    module = (await import([name].join(''))) as { jobStoreBackend?: JobStoreBackend };
  } catch (error) {
    if (!isNotFound(error, name)) throw error;
    const published = PUBLISHED[scheme];
    if (published)
      throw new ToilError(
        'JOBSTORE_BACKEND_MISSING',
        `The job store '${text}' needs ${published.package}, which is not installed.`,
        {
          hint: `Install it next to your program: npm install ${published.package} (the toil CLI includes it).`,
          data: { locator: text, package: published.package },
          cause: error,
        },
      );
    throw invalidLocator(text, `unknown job store implementation '${scheme}'`);
  }
  const backend = module.jobStoreBackend;
  if (!backend || backend.scheme !== scheme)
    throw new ToilError(
      'JOBSTORE_BACKEND_MISSING',
      `${name} does not provide a job store backend for '${scheme}:'.`,
      {
        hint: `Check the installed version of ${name}, or register a backend with registerJobStoreBackend().`,
        data: { locator: text, package: name },
      },
    );
  registerJobStoreBackend(backend);
  return backend;
}
