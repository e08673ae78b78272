/**
 * @toil/jobstore-aws: the `aws:REGION:NAME` job store on S3. `@toil/jobstore`'s
 * `openJobStore` loads this package by its scheme when it is installed; importing it
 * registers the backend too. The AWS SDK is loaded on the first S3 request.
 *
 * @packageDocumentation
 */
import { registerJobStoreBackend, type JobStoreBackend } from '@toil/jobstore';
import { AwsJobStore } from './aws-store.js';
import { parseAwsLocator, type AwsJobStoreLocator } from './locator.js';

export { AwsJobStore } from './aws-store.js';
export type { AwsJobStoreOptions } from './aws-store.js';
export { checkAwsStoreName, parseAwsLocator } from './locator.js';
export type { AwsJobStoreLocator } from './locator.js';

/** The `aws:` backend that `@toil/jobstore` registers for the scheme `aws`. */
export const jobStoreBackend: JobStoreBackend = {
  scheme: 'aws',
  syntax: 'aws:REGION:NAME',
  parse: parseAwsLocator,
  open: (locator, options) =>
    new AwsJobStore(locator as AwsJobStoreLocator, {
      host: options.host,
      listPageSize: options.listPageSize,
    }),
};

registerJobStoreBackend(jobStoreBackend);
