import { resolve } from 'node:path';
import { ToilError } from '@toil/core';
import { AwsJobStore, FileJobStore, openJobStore, parseLocator } from '@toil/jobstore';

function parseError(text: string): ToilError {
  try {
    parseLocator(text);
  } catch (error) {
    if (ToilError.is(error)) return error;
    throw error;
  }
  throw new Error(`${text} parsed`);
}

describe('parseLocator', () => {
  it('makes bare, relative and file: paths absolute file stores', () => {
    for (const text of ['my-store', './my-store', 'file:my-store', 'file:./my-store'])
      expect(parseLocator(text)).toEqual({
        kind: 'file',
        path: resolve('my-store'),
        locator: `file:${resolve('my-store')}`,
      });
    expect(parseLocator('/abs/store')).toMatchObject({ path: '/abs/store' });
    expect(parseLocator('file:/abs/a:b')).toMatchObject({ path: '/abs/a:b' });
    expect(parseLocator('../up')).toMatchObject({ path: resolve('..', 'up') });
  });

  it('parses aws:REGION:NAME', () => {
    expect(parseLocator('aws:us-west-2:my-run-1')).toEqual({
      kind: 'aws',
      region: 'us-west-2',
      name: 'my-run-1',
      locator: 'aws:us-west-2:my-run-1',
    });
    expect(parseLocator(`aws:us-gov-west-1:${'a'.repeat(56)}`)).toMatchObject({ kind: 'aws' });
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

  it.each(['google:project:name', 'gs:x', 'foo:bar', 'file:', ''])(
    'rejects %j naming the supported schemes',
    (text) => {
      const error = parseError(text);
      expect(error.code).toBe('JOBSTORE_LOCATOR_INVALID');
      expect(`${error.message} ${error.hint}`).toMatch(/file:/);
      if (text.startsWith('google') || text.startsWith('foo'))
        expect(error.hint).toMatch(/aws:REGION:NAME/);
    },
  );
});

describe('openJobStore', () => {
  it('picks the backend from the locator without touching the store', async () => {
    const file = await openJobStore('file:/nonexistent/dir/store');
    expect(file).toBeInstanceOf(FileJobStore);
    expect(file.locator).toBe('file:/nonexistent/dir/store');
    const aws = await openJobStore(parseLocator('aws:eu-west-1:some-store'));
    expect(aws).toBeInstanceOf(AwsJobStore);
    expect((aws as AwsJobStore).bucket).toBe('some-store--toil');
    await aws.close();
    await expect(openJobStore('google:p:n')).rejects.toMatchObject({
      code: 'JOBSTORE_LOCATOR_INVALID',
    });
  });
});
