/**
 * `@toil/jobstore/backend`: what a job store backend package (such as `@toil/jobstore-aws`)
 * builds on: the shared {@link JobStoreBase}, the error constructors, id rules, record
 * validation and the zod record schemas, the write-sequence clock and a bounded-concurrency pool. Applications need
 * none of it; they use `openJobStore` from `@toil/jobstore`.
 *
 * @packageDocumentation
 */
export { JobStoreBase } from './base-store.js';
export {
  corruptError,
  existsError,
  fileNotFoundError,
  incompatibleError,
  ioError,
  jobNotFoundError,
  notFoundError,
  wrapIo,
} from './errors.js';
export {
  checkFileId,
  checkJobId,
  checkSharedName,
  cleanupPrefix,
  newFileId,
  safeBasename,
} from './ids.js';
/** The project's one concurrency limiter, from `@toil/core` (kept here for backends). */
export { forEachLimit, mapLimit } from '@toil/core';
export { nextSeq, observeSeq } from './internal/seq.js';
export { toLocatorOfKind } from './locator.js';
export { invalidLocator } from './backends.js';
export {
  parseJson,
  parseRecord,
  parseStoreMarker,
  recordSchemas,
  validateConfigInput,
  validateJobWrites,
  validateRecord,
  type RecordSchemas,
  type StoreMarker,
} from './validate.js';
export * from './schemas.js';
