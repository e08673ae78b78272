import { ToilError, silentHost, type IoHost } from '@toil/core';
import { openJobStore, type JobStore } from '@toil/jobstore';

/** Options every utility takes. */
export interface UtilityOptions {
  /** Where progress and warnings go (the CLI's terminal host); silent by default. */
  host?: IoHost;
}

/** Opens the store named by `locator` without touching it (no I/O yet). */
export async function openStore(locator: string, host: IoHost = silentHost): Promise<JobStore> {
  return openJobStore(locator, { host });
}

/** The error for a store that is not there, with what to do about it. */
export function storeNotFound(locator: string): ToilError {
  return new ToilError('JOBSTORE_NOT_FOUND', `There is no job store at ${locator}.`, {
    hint: 'Check the locator (file:PATH, PATH or aws:REGION:NAME); a store exists once a workflow has been started on it.',
    data: { jobStore: locator },
  });
}

/** Runs `body` with an open store that exists, closing it afterwards. */
export async function withExistingStore<T>(
  locator: string,
  host: IoHost,
  body: (store: JobStore) => Promise<T>,
): Promise<T> {
  const store = await openStore(locator, host);
  try {
    if (!(await store.exists())) throw storeNotFound(store.locator);
    return await body(store);
  } finally {
    await store.close();
  }
}
