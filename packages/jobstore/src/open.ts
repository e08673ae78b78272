import { loadJobStoreBackend, type OpenJobStoreOptions } from './backends.js';
import type { FileJobStoreLocator, JobStore, JobStoreLocator } from './contract.js';
import { FileJobStore } from './file-store.js';
import { resolveLocator } from './locator.js';

/**
 * Opens a job store by locator without touching it: no I/O happens until the caller calls
 * `create()`, `resume()`, `exists()` or `destroy()`. The backend comes from the locator's
 * scheme: `file:` is built in; another scheme's backend is the registered one, or is loaded
 * from the package `@toil/jobstore-SCHEME` (`aws:` from `@toil/jobstore-aws`). Throws
 * `JOBSTORE_LOCATOR_INVALID` for a bad locator and `JOBSTORE_BACKEND_MISSING` (naming the
 * package to install) when the backend is not installed.
 */
export async function openJobStore(
  locator: string | JobStoreLocator,
  options: OpenJobStoreOptions = {},
): Promise<JobStore> {
  const parsed = await resolveLocator(locator);
  if (parsed.kind === 'file')
    return new FileJobStore(parsed as FileJobStoreLocator, { host: options.host });
  const backend = await loadJobStoreBackend(parsed.kind, parsed.locator);
  return backend.open(parsed, options);
}
