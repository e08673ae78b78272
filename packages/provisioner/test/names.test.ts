import { ToilError, isUsageError } from '@toil/core';
import { checkClusterName } from '@toil/provisioner';

describe('checkClusterName', () => {
  it('accepts lowercase names with digits and dashes', () => {
    expect(checkClusterName('my-cluster-2')).toBe('my-cluster-2');
    expect(checkClusterName('a')).toBe('a');
  });

  it.each([
    ['My-cluster', "The cluster name must be lowercase and cannot contain the '_' character."],
    ['my_cluster', "The cluster name must be lowercase and cannot contain the '_' character."],
    ['', 'The cluster name is empty.'],
    ['my cluster', "may contain only lowercase letters, digits and '-'"],
    ['my;rm -rf', "may contain only lowercase letters, digits and '-'"],
    ['2cluster', 'must start with a letter'],
    ['-x', 'must start with a letter'],
    ['cluster-', "must not end with '-'"],
    ['c'.repeat(51), 'the limit is 50'],
  ])('refuses %j as a usage error', (name, message) => {
    let caught: unknown;
    try {
      checkClusterName(name);
    } catch (error) {
      caught = error;
    }
    expect(ToilError.is(caught)).toBe(true);
    const error = caught as ToilError;
    expect(error.code).toBe('CLUSTER_NAME_INVALID');
    expect(error.message).toContain(message);
    expect(isUsageError(error)).toBe(true);
    expect(error.hint).toBeDefined();
  });
});
