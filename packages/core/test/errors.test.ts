import {
  ToilError,
  UsageError,
  isUsageError,
  registerUsageErrorCodes,
  toToilError,
  USAGE_ERROR_CODES,
} from '@toil/core';

describe('ToilError', () => {
  it('carries a code, a message, a hint and a cause', () => {
    const cause = new Error('ENOENT');
    const error = new ToilError('JOBSTORE_NOT_FOUND', 'The job store is missing.', {
      hint: 'Check the path.',
      cause,
    });
    expect(error.code).toBe('JOBSTORE_NOT_FOUND');
    expect(error.message).toBe('The job store is missing.');
    expect(error.hint).toBe('Check the path.');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it('is recognised by its brand even when the class comes from another copy of the package', () => {
    const foreign = Object.create(Error.prototype) as Record<symbol, unknown>;
    foreign[Symbol.for('@toil/core/ToilError')] = true;
    expect(ToilError.is(foreign)).toBe(true);
    expect(ToilError.is(new Error('plain'))).toBe(false);
    expect(ToilError.is(null)).toBe(false);
    expect(ToilError.is({ code: 'USAGE' })).toBe(false);
  });

  it('redacts credentials and control characters from messages and hints', () => {
    const error = new ToilError(
      'JOBSTORE_IO',
      'GET https://user:hunter2@example.com/x failed with key AKIAABCDEFGHIJKLMNOP secret_access_key=abc123\u001b[31m red',
      { hint: 'retry with token=xyz' },
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('ABCDEFGHIJKLMNOP');
    expect(error.message).not.toContain('abc123');
    expect(error.message).not.toContain('\u001b');
    expect(error.message).toContain('https://user:***@example.com/x');
    expect(error.hint).toBe('retry with token=***');
  });

  it('serialises to {code, message, hint} for --json', () => {
    const json = JSON.parse(
      JSON.stringify(new UsageError('Bad value.', { hint: 'Use one of a, b.' })),
    );
    expect(json).toEqual({ code: 'USAGE', message: 'Bad value.', hint: 'Use one of a, b.' });
    expect(USAGE_ERROR_CODES.has('USAGE')).toBe(true);
  });

  it('wraps unknown throwables as INTERNAL and passes ToilErrors through', () => {
    const original = new ToilError('CANCELLED', 'stopped');
    expect(toToilError(original)).toBe(original);
    const wrapped = toToilError(new TypeError('boom'));
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toBe('boom');
    expect(toToilError('just a string').message).toBe('just a string');
  });
});

declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    TEST_PACKAGE_CODE: true;
    TEST_PACKAGE_BAD_INPUT: true;
  }
}

describe('codes added by other packages', () => {
  it('are typed through declaration merging and count as usage errors once registered', () => {
    const failure = new ToilError('TEST_PACKAGE_CODE', 'went wrong');
    const badInput = new ToilError('TEST_PACKAGE_BAD_INPUT', 'bad input');
    expect(isUsageError(badInput)).toBe(false);
    registerUsageErrorCodes('TEST_PACKAGE_BAD_INPUT');
    expect(isUsageError(badInput)).toBe(true);
    expect(isUsageError(failure)).toBe(false);
    expect(isUsageError(new UsageError('x'))).toBe(true);
    expect(isUsageError(new Error('plain'))).toBe(false);
  });
});
