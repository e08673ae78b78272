import { redact } from './redact.js';

const TOIL_ERROR_BRAND = Symbol.for('@toil/core/ToilError');

/**
 * Stable error codes. A code never changes meaning once released; scripts may match on it.
 * Each package adds its codes here so that the CLI can map every code to an exit status.
 */
export type ToilErrorCode =
  // usage and input
  | 'USAGE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_SIZE'
  | 'INVALID_DURATION'
  | 'NOT_IMPLEMENTED'
  // job store
  | 'JOBSTORE_LOCATOR_INVALID'
  | 'JOBSTORE_NOT_FOUND'
  | 'JOBSTORE_EXISTS'
  | 'JOBSTORE_CORRUPT'
  | 'JOBSTORE_INCOMPATIBLE'
  | 'JOBSTORE_IO'
  | 'JOBSTORE_CONCURRENT_MODIFICATION'
  | 'JOB_NOT_FOUND'
  | 'FILE_NOT_FOUND'
  // workflow
  | 'WORKFLOW_INVALID'
  | 'WORKFLOW_FAILED'
  | 'WORKFLOW_KILLED'
  | 'WORKFLOW_ALREADY_RUNNING'
  | 'JOB_TOO_LARGE'
  | 'JOB_NOT_SERIALIZABLE'
  | 'JOB_CLASS_NOT_FOUND'
  | 'WORKER_FAILED'
  // batch systems
  | 'BATCH_SYSTEM_UNAVAILABLE'
  | 'BATCH_SUBMIT_FAILED'
  // leaders and processes
  | 'LEADER_ALIVE'
  | 'SIGNAL_FAILED'
  | 'KILL_INCOMPLETE'
  // anything else
  | 'CANCELLED'
  | 'INTERNAL';

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

/** Codes that are the user's input being wrong: the CLI exits 2 for these, 1 for the rest. */
export const USAGE_ERROR_CODES: ReadonlySet<ToilErrorCode> = new Set<ToilErrorCode>([
  'USAGE',
  'INVALID_ARGUMENT',
  'INVALID_SIZE',
  'INVALID_DURATION',
  'JOBSTORE_LOCATOR_INVALID',
]);

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
