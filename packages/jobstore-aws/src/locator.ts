import type { JobStoreLocator } from '@toil/jobstore';
import { invalidLocator } from '@toil/jobstore/backend';

/** A parsed `aws:REGION:NAME` locator. */
export interface AwsJobStoreLocator extends JobStoreLocator {
  kind: 'aws';
  /** The AWS region. */
  region: string;
  /** The store's name (its bucket is `NAME--toil`). */
  name: string;
}

const AWS_NAME = /^[a-z0-9][a-z0-9-]+[a-z0-9]$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/**
 * Checks an `aws:` store name against S3 bucket rules (the bucket is `NAME--toil`): 3–56
 * characters of lowercase letters, digits and dashes, starting and ending with a letter or
 * digit, without `--`. Throws `JOBSTORE_LOCATOR_INVALID`.
 */
export function checkAwsStoreName(name: string, text = name): void {
  const rules =
    'Use 3-56 lowercase letters, digits and single dashes, starting and ending with a letter or digit';
  if (name.length < 3 || name.length > 56)
    throw invalidLocator(text, `the name '${name}' must be 3 to 56 characters long`, rules);
  if (!AWS_NAME.test(name))
    throw invalidLocator(
      text,
      `the name '${name}' may only hold lowercase letters, digits and dashes, and must start and end with a letter or digit`,
      rules,
    );
  if (name.includes('--'))
    throw invalidLocator(text, `the name '${name}' must not contain '--'`, rules);
}

/**
 * Parses the part of an `aws:REGION:NAME` locator after `aws:` (`text` is the whole locator):
 * the region's shape and the name's bucket rules are checked before any network call. No I/O.
 * Throws `JOBSTORE_LOCATOR_INVALID`.
 */
export function parseAwsLocator(rest: string, text = `aws:${rest}`): AwsJobStoreLocator {
  const second = rest.indexOf(':');
  if (second < 0)
    throw invalidLocator(
      text,
      'aws: needs a region and a name',
      'Write aws:REGION:NAME, e.g. aws:us-west-2:my-run.',
    );
  const region = rest.slice(0, second);
  const name = rest.slice(second + 1);
  if (!AWS_REGION.test(region))
    throw invalidLocator(
      text,
      `'${region}' is not an AWS region name`,
      'Write aws:REGION:NAME with a region like us-west-2.',
    );
  if (name.includes(':'))
    throw invalidLocator(
      text,
      `can't have a ':' in the name '${name}'`,
      'Write aws:REGION:NAME, e.g. aws:us-west-2:my-run.',
    );
  checkAwsStoreName(name, text);
  return { kind: 'aws', region, name, locator: `aws:${region}:${name}` };
}
