import { ToilError } from '@toil/core';
import {
  clusterTags,
  parseTagOptions,
  resolveOwner,
  resolveUserTags,
  tagsFromEnvironment,
} from '@toil/provisioner';

function codeOf(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (error) {
    if (ToilError.is(error)) return [error.code, error.message];
    throw error;
  }
  throw new Error('expected a ToilError');
}

describe('tags', () => {
  it('parses -t NAME=VALUE, keeping an empty value', () => {
    expect(parseTagOptions(['project=genomics', 'empty='])).toEqual({
      project: 'genomics',
      empty: '',
    });
  });

  it.each([
    ['novalue', "Tag specification 'novalue' must contain '='."],
    ['a=b=c', "Tag specification 'a=b=c' must contain only one '='."],
    ['=v', "Tag specification '=v' has an empty name."],
  ])('refuses the tag %j', (tag, message) => {
    expect(codeOf(() => parseTagOptions([tag]))).toEqual(['TAG_INVALID', message]);
  });

  it('reads TOIL_OWNER_TAG and TOIL_AWS_TAGS only when no -t is given', () => {
    const env = { TOIL_OWNER_TAG: 'alice', TOIL_AWS_TAGS: '{"team":"x"}' };
    expect(resolveUserTags(undefined, env)).toEqual({ Owner: 'alice', team: 'x' });
    expect(resolveUserTags(['a=b'], env)).toEqual({ a: 'b' });
  });

  it.each(['not json', '["a"]', '{"a":1}', 'null'])(
    "refuses TOIL_AWS_TAGS=%j with Toil's message",
    (raw) => {
      expect(codeOf(() => tagsFromEnvironment({ TOIL_AWS_TAGS: raw }))).toEqual([
        'TAG_INVALID',
        'TOIL_AWS_TAGS must be in JSON format: {"key" : "value", ...}',
      ]);
    },
  );

  it('resolves the owner as Toil: --owner, TOIL_OWNER_TAG, key pair, toil', () => {
    expect(resolveOwner({ owner: 'o', keyPairName: 'k' }, { TOIL_OWNER_TAG: 't' })).toBe('o');
    expect(resolveOwner({ keyPairName: 'k' }, { TOIL_OWNER_TAG: 't' })).toBe('t');
    expect(resolveOwner({ keyPairName: 'k' }, {})).toBe('k');
    expect(resolveOwner({}, {})).toBe('toil');
  });

  it('lets user tags override Name and Owner but never clusterName', () => {
    expect(clusterTags('c1', 'me', { Name: 'nice', x: 'y' })).toEqual({
      Name: 'nice',
      Owner: 'me',
      x: 'y',
      clusterName: 'c1',
    });
    expect(codeOf(() => clusterTags('c1', 'me', { clusterName: 'other' }))[0]).toBe('TAG_INVALID');
    expect(codeOf(() => clusterTags('c1', 'me', { 'aws:x': 'y' }))[0]).toBe('TAG_INVALID');
    expect(codeOf(() => clusterTags('c1', 'me', { k: 'v'.repeat(257) }))[0]).toBe('TAG_INVALID');
  });
});
