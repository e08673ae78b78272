import { ToilError } from '@toil/core';

/** The `ToilError` that `fn` throws synchronously; fails the test if it throws nothing or another error. */
export function thrownToilError(fn: () => unknown): ToilError {
  try {
    fn();
  } catch (error) {
    if (ToilError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ToilError');
}

/** The `ToilError` that `promise` rejects with; fails the test if it resolves or rejects with another error. */
export async function rejectedToilError(promise: Promise<unknown>): Promise<ToilError> {
  try {
    await promise;
  } catch (error) {
    if (ToilError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ToilError');
}
