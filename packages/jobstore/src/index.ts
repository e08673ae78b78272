/**
 * @toil/jobstore: the JobStore contract, locators and the scheme registry of backends, record
 * schemas, and the built-in `file:` store. Start with {@link openJobStore}; `aws:` stores come
 * from `@toil/jobstore-aws`, loaded by their scheme.
 *
 * @packageDocumentation
 */
export * from './records.js';
export type * from './contract.js';
export { parseLocator, resolveLocator } from './locator.js';
export { openJobStore } from './open.js';
export {
  registerJobStoreBackend,
  registeredJobStoreBackend,
  loadJobStoreBackend,
  backendPackageName,
  supportedLocators,
} from './backends.js';
export type { JobStoreBackend, OpenJobStoreOptions } from './backends.js';
export { FileJobStore, FILE_STORE_MARKER } from './file-store.js';
export type { FileJobStoreOptions } from './file-store.js';
export { newJobId } from './ids.js';
