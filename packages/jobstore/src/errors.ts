import { ToilError, registerUsageErrorCodes } from '@toil/core';

declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    /** The locator names something that is not a job store (a file, another directory). */
    NOT_A_JOBSTORE: true;
  }
}

// The locator is wrong, as with a bad locator: exit status 2 from every command.
registerUsageErrorCodes('NOT_A_JOBSTORE');

/** `JOBSTORE_NOT_FOUND` for a store that does not exist. */
export function notFoundError(locator: string): ToilError {
  return new ToilError('JOBSTORE_NOT_FOUND', `The job store '${locator}' does not exist.`, {
    hint: 'Check the locator, or run the workflow to create it.',
    data: { locator },
  });
}

/**
 * `NOT_A_JOBSTORE` for a locator that names something else (a regular file, a directory
 * with other contents), which no command may read as, or turn into, a damaged store.
 */
export function notAJobStoreError(locator: string, what: string): ToilError {
  return new ToilError('NOT_A_JOBSTORE', `${locator} is not a job store: ${what}.`, {
    hint: 'Check the locator: name the directory a workflow created as its job store, or a path that does not exist yet to start a new workflow there.',
    data: { locator },
  });
}

/** `JOBSTORE_EXISTS` for a create over an existing store. */
export function existsError(locator: string): ToilError {
  return new ToilError('JOBSTORE_EXISTS', `The job store '${locator}' already exists.`, {
    hint: "Use --restart to resume the workflow, or remove the job store with 'toil clean' to start from scratch.",
    data: { locator },
  });
}

/** `JOBSTORE_CORRUPT` naming the damaged file or key. */
export function corruptError(where: string, why: string, cause?: unknown): ToilError {
  return new ToilError('JOBSTORE_CORRUPT', `Job store record ${where} is damaged: ${why}.`, {
    hint: "The store was damaged outside toil; inspect or remove the named record, or delete the store with 'toil clean'.",
    data: { where },
    cause,
  });
}

/** `JOBSTORE_INCOMPATIBLE` for a record or store written by another format version. */
export function incompatibleError(where: string, found: unknown): ToilError {
  return new ToilError(
    'JOBSTORE_INCOMPATIBLE',
    `Job store record ${where} has format ${JSON.stringify(found)}, this toil reads format 1.`,
    {
      hint: 'Use the toil version that wrote this job store, or remove it with `toil clean`.',
      data: { where, found },
    },
  );
}

/** `JOBSTORE_IO` wrapping an unexpected system or network error. */
export function ioError(action: string, cause: unknown): ToilError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ToilError('JOBSTORE_IO', `Job store I/O failed while ${action}: ${detail}`, {
    hint: 'Check disk space, permissions and (for aws:) credentials and network, then retry.',
    cause,
  });
}

/** `JOB_NOT_FOUND`. */
export function jobNotFoundError(id: string): ToilError {
  return new ToilError('JOB_NOT_FOUND', `The job '${id}' does not exist.`, {
    hint: 'The job may have finished and been deleted; list jobs with `toil status`.',
    data: { jobId: id },
  });
}

/** `FILE_NOT_FOUND`. */
export function fileNotFoundError(id: string): ToilError {
  return new ToilError('FILE_NOT_FOUND', `File '${id}' does not exist.`, {
    hint: 'The file was deleted, or it belonged to a job that finished with cleanup.',
    data: { fileId: id },
  });
}

/** Rethrows ToilErrors, wraps anything else as `JOBSTORE_IO`. */
export function wrapIo(action: string, error: unknown): ToilError {
  return ToilError.is(error) ? error : ioError(action, error);
}
