import { resolve } from 'node:path';
import { ToilError } from '@toil/core';
import type { JobStoreLocator } from './contract.js';
import { SUPPORTED_SCHEMES } from './errors.js';

const AWS_NAME = /^[a-z0-9][a-z0-9-]+[a-z0-9]$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function invalid(text: string, why: string, hint?: string): ToilError {
  return new ToilError('JOBSTORE_LOCATOR_INVALID', `Invalid job store locator '${text}': ${why}.`, {
    hint: hint ?? `Supported locators: ${SUPPORTED_SCHEMES}.`,
    data: { locator: text },
  });
}

/**
 * Checks an `aws:` store name against S3 bucket rules (the bucket is `NAME--toil`): 3–56
 * characters of lowercase letters, digits and dashes, starting and ending with a letter or
 * digit, without `--`. Throws `JOBSTORE_LOCATOR_INVALID`.
 */
export function checkAwsStoreName(name: string, text = name): void {
  const rules =
    'Use 3-56 lowercase letters, digits and single dashes, starting and ending with a letter or digit';
  if (name.length < 3 || name.length > 56)
    throw invalid(text, `the name '${name}' must be 3 to 56 characters long`, rules);
  if (!AWS_NAME.test(name))
    throw invalid(
      text,
      `the name '${name}' may only hold lowercase letters, digits and dashes, and must start and end with a letter or digit`,
      rules,
    );
  if (name.includes('--')) throw invalid(text, `the name '${name}' must not contain '--'`, rules);
}

/**
 * Parses a job store locator the way Toil does: `file:PATH`, a bare or relative path (a file
 * store; made absolute against the current directory), or `aws:REGION:NAME`. `google:` and
 * unknown schemes throw `JOBSTORE_LOCATOR_INVALID` naming the supported schemes. No I/O.
 */
export function parseLocator(text: string): JobStoreLocator {
  if (typeof text !== 'string' || text.trim() === '')
    throw invalid(String(text), 'the locator is empty');
  if (text.includes('\0')) throw invalid(text.replace(/\0/g, '\\0'), 'it contains a NUL byte');
  const colon = text.indexOf(':');
  if (text.startsWith('/') || text.startsWith('.') || colon < 0) {
    const path = resolve(text);
    return { kind: 'file', path, locator: `file:${path}` };
  }
  const scheme = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  switch (scheme) {
    case 'file': {
      if (rest === '') throw invalid(text, 'file: needs a path, e.g. file:./my-jobstore');
      const path = resolve(rest);
      return { kind: 'file', path, locator: `file:${path}` };
    }
    case 'aws': {
      const second = rest.indexOf(':');
      if (second < 0)
        throw invalid(
          text,
          'aws: needs a region and a name',
          'Write aws:REGION:NAME, e.g. aws:us-west-2:my-run.',
        );
      const region = rest.slice(0, second);
      const name = rest.slice(second + 1);
      if (!AWS_REGION.test(region))
        throw invalid(
          text,
          `'${region}' is not an AWS region name`,
          'Write aws:REGION:NAME with a region like us-west-2.',
        );
      if (name.includes(':')) throw invalid(text, `can't have a ':' in the name '${name}'`);
      checkAwsStoreName(name, text);
      return { kind: 'aws', region, name, locator: `aws:${region}:${name}` };
    }
    case 'google':
      throw invalid(
        text,
        'google: job stores are not supported by toil-ts',
        `Supported locators: ${SUPPORTED_SCHEMES}.`,
      );
    default:
      throw invalid(text, `unknown job store implementation '${scheme}'`);
  }
}

/** Accepts a locator string or an already parsed locator. */
export function toLocator(locator: string | JobStoreLocator): JobStoreLocator {
  if (typeof locator === 'object' && locator !== null && 'kind' in locator) return locator;
  return parseLocator(locator as string);
}

/**
 * {@link toLocator} for a backend's constructor: the parsed locator when it is of `kind`, else
 * `INVALID_ARGUMENT` naming the backend class.
 */
export function toLocatorOfKind<K extends JobStoreLocator['kind']>(
  locator: string | JobStoreLocator,
  kind: K,
  backend: string,
): Extract<JobStoreLocator, { kind: K }> {
  const parsed = toLocator(locator);
  if (parsed.kind !== kind)
    throw new ToilError('INVALID_ARGUMENT', `${backend} cannot open '${parsed.locator}'.`, {
      hint: 'Use openJobStore() to pick the backend from the locator.',
    });
  return parsed as Extract<JobStoreLocator, { kind: K }>;
}
