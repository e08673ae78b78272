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
