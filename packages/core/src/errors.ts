import { redact } from './redact.js';

const TOIL_ERROR_BRAND = Symbol.for('@toil/core/ToilError');

/**
 * The registry of stable error codes: one key per code. A code never changes meaning once
 * released; scripts may match on it.
 *
 * A package adds its own codes without a release of `@toil/core`, by declaration merging:
 *
 * ```ts
 * declare module '@toil/core' {
 *   interface ToilErrorCodeRegistry {
 *     CLUSTER_NOT_FOUND: true;
 *   }
 * }
 * ```
 *
 * and, when its code means "the user's input is wrong" (CLI exit status 2),
 * {@link registerUsageErrorCodes} at module load.
 */
export interface ToilErrorCodeRegistry {
  // usage and input
  USAGE: true;
  INVALID_ARGUMENT: true;
  INVALID_SIZE: true;
  INVALID_DURATION: true;
  NOT_IMPLEMENTED: true;
  // job store
  JOBSTORE_LOCATOR_INVALID: true;
  JOBSTORE_NOT_FOUND: true;
  JOBSTORE_EXISTS: true;
  JOBSTORE_CORRUPT: true;
  JOBSTORE_INCOMPATIBLE: true;
  JOBSTORE_IO: true;
  JOBSTORE_CONCURRENT_MODIFICATION: true;
  JOB_NOT_FOUND: true;
  FILE_NOT_FOUND: true;
  // workflow
  WORKFLOW_INVALID: true;
  WORKFLOW_FAILED: true;
  WORKFLOW_KILLED: true;
  WORKFLOW_ALREADY_RUNNING: true;
  JOB_TOO_LARGE: true;
  JOB_NOT_SERIALIZABLE: true;
  JOB_CLASS_NOT_FOUND: true;
  WORKER_FAILED: true;
  // batch systems
  BATCH_SYSTEM_UNAVAILABLE: true;
  BATCH_SUBMIT_FAILED: true;
  // leaders and processes
  LEADER_ALIVE: true;
  SIGNAL_FAILED: true;
  KILL_INCOMPLETE: true;
  // anything else
  CANCELLED: true;
  INTERNAL: true;
}

/** Stable error codes: the keys of {@link ToilErrorCodeRegistry}. */
export type ToilErrorCode = keyof ToilErrorCodeRegistry;

/** What a {@link ToilError} is built from. */
export interface ToilErrorOptions {
  /** A short instruction that tells the user what to do next. */
  hint?: string;
  /** The underlying error, kept for `--logLevel debug`. */
  cause?: unknown;
  /** Structured facts about the failure (paths, ids); rendered by `--json`. */
  data?: Record<string, unknown>;
}

/**
 * The one error class every @toil library throws. It carries a stable {@link ToilErrorCode},
 * a one-line message and an optional hint. Messages are redacted of credentials and control
 * characters when the error is made, so an error can be logged or stored safely.
 */
export class ToilError extends Error {
  /** Stable machine-readable code. */
  readonly code: ToilErrorCode;
  /** What the user can do about it, if anything. */
  readonly hint: string | undefined;
  /** Structured facts about the failure. */
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ToilErrorCode, message: string, options: ToilErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ToilError';
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redact(options.hint);
    this.data = options.data;
    Object.defineProperty(this, TOIL_ERROR_BRAND, { value: true });
  }

  /**
   * True for any ToilError, including one made by another copy of @toil/core in the same
   * process (duplicated installs make `instanceof` unreliable).
   */
  static is(value: unknown): value is ToilError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[TOIL_ERROR_BRAND] === true
    );
  }

  /** A plain JSON form: `{code, message, hint}` (and `data` when present). */
  toJSON(): {
    code: ToilErrorCode;
    message: string;
    hint?: string;
    data?: Record<string, unknown>;
  } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.data === undefined ? {} : { data: this.data }),
    };
  }
}

/** Thrown for bad command-line usage or bad option values (CLI exit status 2). */
export class UsageError extends ToilError {
  constructor(message: string, options: ToilErrorOptions = {}) {
    super('USAGE', message, options);
    this.name = 'UsageError';
  }
}

// Kept on globalThis so that a code registered through one copy of @toil/core (duplicated
// installs) is seen by the CLI's copy too.
const USAGE_CODES_KEY = Symbol.for('@toil/core/usageErrorCodes');
const usageErrorCodes: Set<ToilErrorCode> =
  ((globalThis as Record<symbol, unknown>)[USAGE_CODES_KEY] as Set<ToilErrorCode> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[USAGE_CODES_KEY] = new Set<ToilErrorCode>([
    'USAGE',
    'INVALID_ARGUMENT',
    'INVALID_SIZE',
    'INVALID_DURATION',
    'JOBSTORE_LOCATOR_INVALID',
  ]));

/**
 * Codes that are the user's input being wrong: the CLI exits 2 for these, 1 for the rest.
 * Packages add theirs with {@link registerUsageErrorCodes}.
 */
export const USAGE_ERROR_CODES: ReadonlySet<ToilErrorCode> = usageErrorCodes;

/**
 * Marks codes a package added (see {@link ToilErrorCodeRegistry}) as usage errors, so the CLI
 * exits 2 for them. Idempotent; call it at module load of the package that owns the codes.
 */
export function registerUsageErrorCodes(...codes: ToilErrorCode[]): void {
  for (const code of codes) usageErrorCodes.add(code);
}

/** True when the error is the user's input being wrong (CLI exit status 2). */
export function isUsageError(error: unknown): boolean {
  return ToilError.is(error) && usageErrorCodes.has(error.code);
}

/**
 * Turns anything thrown into a ToilError: ToilErrors pass through; other errors become
 * `INTERNAL` with the original kept as `cause`.
 */
export function toToilError(error: unknown): ToilError {
  if (ToilError.is(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ToilError('INTERNAL', message || 'unknown error', {
    cause: error,
    hint: 'This is a bug in toil-ts or an unexpected system error; rerun with --logLevel debug for the stack.',
  });
}
