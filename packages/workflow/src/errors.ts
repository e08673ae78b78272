/**
 * Error codes of `@toil/workflow`, added to `@toil/core`'s registry by declaration merging.
 *
 * - `WORKFLOW_NOT_STARTED`: `--restart` of a store whose leader stopped before `toil.start()`
 *   saved the root job (exit 1; the store is kept).
 *
 * @packageDocumentation
 */
declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    /** `--restart` of a workflow that never started: there is no root job to resume. */
    WORKFLOW_NOT_STARTED: true;
  }
}

/** The error codes this package adds to `@toil/core`'s registry. */
export const WORKFLOW_ERROR_CODES = ['WORKFLOW_NOT_STARTED'] as const;
