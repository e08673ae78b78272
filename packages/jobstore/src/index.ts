/**
 * @toil/jobstore: the JobStore contract, locators, record schemas and the backends
 * (`file:` and `aws:` on S3). Start with {@link openJobStore}.
 *
 * @packageDocumentation
 */
export * from './records.js';
export type * from './contract.js';
export { parseLocator, checkAwsStoreName } from './locator.js';
export { openJobStore } from './open.js';
export type { OpenJobStoreOptions } from './open.js';
export { FileJobStore, FILE_STORE_MARKER } from './file-store.js';
export type { FileJobStoreOptions } from './file-store.js';
export { AwsJobStore } from './aws-store.js';
export type { AwsJobStoreOptions } from './aws-store.js';
export { newJobId } from './ids.js';
