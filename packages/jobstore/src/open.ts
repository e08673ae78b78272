import type { IoHost } from '@toil/core';
import { AwsJobStore } from './aws-store.js';
import type { JobStore, JobStoreLocator } from './contract.js';
import { FileJobStore } from './file-store.js';
import { toLocator } from './locator.js';

/** Options of {@link openJobStore}. */
export interface OpenJobStoreOptions {
  /** Where the store reports progress and warnings (destroy progress spans). */
  host?: IoHost;
  /**
   * `aws:` only: objects per ListObjectsV2 page (default 1000, the S3 maximum). Smaller pages
   * exist for tests that must exercise pagination.
   */
  listPageSize?: number;
}

/**
 * Opens a job store by locator without touching it: no I/O happens until the caller calls
 * `create()`, `resume()`, `exists()` or `destroy()`. The AWS SDK is loaded only when an
 * `aws:` store makes its first request. Throws `JOBSTORE_LOCATOR_INVALID` for a bad locator.
 */
export async function openJobStore(
  locator: string | JobStoreLocator,
  options: OpenJobStoreOptions = {},
): Promise<JobStore> {
  const parsed = toLocator(locator);
  if (parsed.kind === 'file') return new FileJobStore(parsed, { host: options.host });
  return new AwsJobStore(parsed, { host: options.host, listPageSize: options.listPageSize });
}
