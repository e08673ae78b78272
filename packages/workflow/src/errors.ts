/**
 * Error codes of `@toil/workflow`, added to `@toil/core`'s registry by declaration merging.
 *
 * - `WORKFLOW_NOT_STARTED`: `--restart` of a store whose leader stopped before `toil.start()`
 *   saved the root job (exit 1; the store is kept).
 * - `WORKFLOW_MODULE_FAILED`: a worker could not import the workflow module (the message names
 *   the user's file and the line that threw).
 *
 * @packageDocumentation
 */
declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    /** `--restart` of a workflow that never started: there is no root job to resume. */
    WORKFLOW_NOT_STARTED: true;
    /** A worker could not import the workflow module. */
    WORKFLOW_MODULE_FAILED: true;
  }
}

/** The error codes this package adds to `@toil/core`'s registry. */
export const WORKFLOW_ERROR_CODES = ['WORKFLOW_NOT_STARTED', 'WORKFLOW_MODULE_FAILED'] as const;
