import { resolve } from 'node:path';
import { ToilError } from '@toil/core';
import {
  FileJobStore,
  openJobStore,
  parseLocator,
  registerJobStoreBackend,
  resolveLocator,
  supportedLocators,
} from '@toil/jobstore';

function parseError(text: string): ToilError {
  try {
    parseLocator(text);
  } catch (error) {
    if (ToilError.is(error)) return error;
    throw error;
  }
  throw new Error(`${text} parsed`);
}

async function openError(text: string): Promise<ToilError> {
  try {
    await openJobStore(text);
  } catch (error) {
    if (ToilError.is(error)) return error;
    throw error;
  }
  throw new Error(`${text} opened`);
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

  it.each(['file:', '', '   ', 'Bad_Scheme:x'])(
    'rejects %j naming the supported schemes',
    (text) => {
      const error = parseError(text);
      expect(error.code).toBe('JOBSTORE_LOCATOR_INVALID');
      expect(error.message).not.toContain('\n');
      expect(`${error.message} ${error.hint}`).toMatch(/file:/);
    },
  );
});

describe('openJobStore finds a backend by its locator scheme', () => {
  it('opens file: stores without touching them', async () => {
    const file = await openJobStore('file:/nonexistent/dir/store');
    expect(file).toBeInstanceOf(FileJobStore);
    expect(file.kind).toBe('file');
    expect(file.locator).toBe('file:/nonexistent/dir/store');
  });

  it.each(['google:project:name', 'gs:x', 'foo:bar'])(
    'refuses %s, a scheme no package provides, naming the supported locators',
    async (text) => {
      const error = await openError(text);
      expect(error.code).toBe('JOBSTORE_LOCATOR_INVALID');
      expect(error.message).toMatch(/unknown job store implementation/);
      expect(error.message).not.toContain('\n');
      expect(error.hint).toMatch(/file:PATH/);
      expect(error.hint).toMatch(/aws:REGION:NAME/);
      expect(supportedLocators()).toMatch(/file:PATH/);
    },
  );

  it('resolves a locator of a scheme whose backend is not loaded yet by loading it', async () => {
    // Nothing in this test file imported @toil/jobstore-aws: the scheme finds it.
    expect((await resolveLocator('aws:us-west-2:found-by-scheme')).kind).toBe('aws');
    const store = await openJobStore('aws:eu-west-1:found-by-scheme');
    expect(store.kind).toBe('aws');
    expect(store.locator).toBe('aws:eu-west-1:found-by-scheme');
    await store.close();
  });
});

describe('registerJobStoreBackend', () => {
  it('makes a new scheme parse and open through the registered backend', async () => {
    const opened: string[] = [];
    registerJobStoreBackend({
      scheme: 'dir-test',
      syntax: 'dir-test:PATH',
      parse: (rest) => ({ kind: 'dir-test', locator: `dir-test:${resolve(rest)}` }),
      open: (locator) => {
        opened.push(locator.locator);
        return new FileJobStore(`file:${locator.locator.slice('dir-test:'.length)}`);
      },
    });
    expect(parseLocator('dir-test:/tmp/x')).toEqual({
      kind: 'dir-test',
      locator: 'dir-test:/tmp/x',
    });
    const store = await openJobStore('dir-test:/tmp/x');
    expect(store).toBeInstanceOf(FileJobStore);
    expect(store.locator).toBe('file:/tmp/x');
    expect(opened).toEqual(['dir-test:/tmp/x']);
    expect(supportedLocators()).toMatch(/dir-test:PATH/);
  });

  it.each(['file', 'Upper', '1st', ''])('refuses the scheme %j', (scheme) => {
    expect(() =>
      registerJobStoreBackend({
        scheme,
        syntax: `${scheme}:X`,
        parse: () => ({ kind: scheme, locator: scheme }),
        open: () => new FileJobStore('file:/tmp/never'),
      }),
    ).toThrow(/not a job store scheme/);
  });
});
