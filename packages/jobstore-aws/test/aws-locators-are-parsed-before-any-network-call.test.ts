import { ToilError } from '@toil/core';
import { openJobStore, parseLocator } from '@toil/jobstore';
import { AwsJobStore, jobStoreBackend, parseAwsLocator } from '@toil/jobstore-aws';

function parseError(text: string): ToilError {
  try {
    parseLocator(text);
  } catch (error) {
    if (ToilError.is(error)) return error;
    throw error;
  }
  throw new Error(`${text} parsed`);
}

describe('aws: locators', () => {
  it('parses aws:REGION:NAME once the backend is registered by importing the package', () => {
    expect(jobStoreBackend.scheme).toBe('aws');
    expect(parseLocator('aws:us-west-2:my-run-1')).toEqual({
      kind: 'aws',
      region: 'us-west-2',
      name: 'my-run-1',
      locator: 'aws:us-west-2:my-run-1',
    });
    expect(parseAwsLocator(`us-gov-west-1:${'a'.repeat(56)}`)).toMatchObject({ kind: 'aws' });
  });

  it.each([
    ['aws:us-west-2:a--b', /--/],
    [`aws:us-west-2:${'a'.repeat(57)}`, /3 to 56/],
    ['aws:us-west-2:ab', /3 to 56/],
    ['aws:us-west-2:a_b', /lowercase/],
    ['aws:us-west-2:My-Store', /lowercase/],
    ['aws:us-west-2:-abc', /start and end/],
    ['aws:us-west-2:abc-', /start and end/],
    ['aws:us-west-2', /region and a name/],
    ['aws:nowhere:abc', /not an AWS region/],
    ['aws:us-west-2:a:b', /':'/],
  ])('rejects %s before any network call', (text, pattern) => {
    const error = parseError(text);
    expect(error.code).toBe('JOBSTORE_LOCATOR_INVALID');
    expect(error.message).toMatch(pattern);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toBeTruthy();
  });

  it('opens an AwsJobStore without touching S3', async () => {
    const store = await openJobStore(parseLocator('aws:eu-west-1:some-store'));
    expect(store).toBeInstanceOf(AwsJobStore);
    expect((store as AwsJobStore).bucket).toBe('some-store--toil');
    await store.close();
    expect(() => new AwsJobStore('file:/tmp/x')).toThrow(/cannot open/);
  });
});
