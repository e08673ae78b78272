import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { ToilError, routeAwsSdkNodeNotice, type IoHost } from '@toil/core';
import '@toil/provisioner';

/** The EC2 and IAM clients of one provisioner, with a count of the calls made through them. */
export interface AwsClients {
  ec2: EC2Client;
  iam: IAMClient;
  region: string;
  /** API calls made so far, by command name (`DescribeInstancesCommand` → `DescribeInstances`). */
  calls: Record<string, number>;
}

/**
 * Makes the clients for a region. Credentials and endpoint come from the standard AWS SDK
 * chain (`AWS_PROFILE`, `AWS_ENDPOINT_URL`, …); the SDK's adaptive retry mode absorbs
 * throttling.
 */
export function makeClients(region: string, host: IoHost): AwsClients {
  routeAwsSdkNodeNotice(host);
  const calls: Record<string, number> = {};
  const ec2 = new EC2Client({ region, maxAttempts: 8, retryMode: 'adaptive' });
  const iam = new IAMClient({ region, maxAttempts: 8, retryMode: 'adaptive' });
  const count =
    (next: (args: unknown) => Promise<any>, context: { commandName?: string }) =>
    async (args: unknown) => {
      const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      calls[name] = (calls[name] ?? 0) + 1;
      return next(args);
    };
  ec2.middlewareStack.add(count as never, { step: 'initialize', name: 'toilCountCalls' });
  iam.middlewareStack.add(count as never, { step: 'initialize', name: 'toilCountCalls' });
  return { ec2, iam, region, calls };
}

/** The AWS error code of an SDK error (`name`, or `Code` for some services). */
export function awsErrorCode(error: unknown): string {
  const e = error as { name?: string; Code?: string; code?: string };
  return String(e?.Code ?? e?.name ?? e?.code ?? '');
}

const CREDENTIAL_CODES = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
]);

/**
 * Turns an SDK error into a one-line `ToilError`: missing, invalid or expired credentials
 * become `CLOUD_CREDENTIALS` with the fix, a missing region `ZONE_MISSING`, and the rest
 * `CLOUD_API` naming the operation. ToilErrors pass through.
 */
export function toAwsError(error: unknown, operation: string): ToilError {
  if (ToilError.is(error)) return error;
  const code = awsErrorCode(error);
  const message = (error as Error)?.message ?? String(error);
  if (CREDENTIAL_CODES.has(code) || /Could not load credentials/i.test(message))
    return new ToilError(
      'CLOUD_CREDENTIALS',
      /expired/i.test(code + message)
        ? `The AWS credentials have expired (${operation}).`
        : `No valid AWS credentials for ${operation}: ${message.split('\n')[0]}`,
      {
        hint: 'Set AWS_PROFILE (aws sso login / aws configure) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.',
        cause: error,
      },
    );
  if (/Region is missing/i.test(message))
    return new ToilError('ZONE_MISSING', 'No AWS region: give --zone or set TOIL_AWS_ZONE.', {
      hint: 'For example: --zone us-west-2a',
      cause: error,
    });
  if (code === 'UnauthorizedOperation' || code === 'AccessDenied')
    return new ToilError(
      'CLOUD_CREDENTIALS',
      `AWS refused ${operation}: ${message.split('\n')[0]}`,
      {
        hint: 'The credentials lack a permission toil needs; see the provisioner README for the list.',
        cause: error,
      },
    );
  return new ToilError(
    'CLOUD_API',
    `AWS ${operation} failed: ${code ? `${code}: ` : ''}${message.split('\n')[0]}`,
    {
      hint: 'Rerun with --logLevel debug for details; if it is a transient failure, run the command again.',
      cause: error,
      data: { awsCode: code },
    },
  );
}

/** Sleeps `ms` milliseconds (or returns at once for 0). */
export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `fn` again while it throws an error whose AWS code is in `codes` (eventual
 * consistency, `DependencyViolation`), with exponential backoff from `firstDelayMs`, until
 * `timeoutMs` has passed; then throws the last error.
 */
export async function retryOn<T>(
  codes: readonly string[],
  fn: () => Promise<T>,
  options: {
    timeoutMs: number;
    firstDelayMs?: number;
    maxDelayMs?: number;
    matches?: (e: unknown) => boolean;
  },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.firstDelayMs ?? 500;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      const retriable = codes.includes(awsErrorCode(error)) && (options.matches?.(error) ?? true);
      if (!retriable || Date.now() + delay > deadline) throw error;
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 10_000);
    }
  }
}

/** Splits `items` into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The region of an availability zone (`us-west-2a` → `us-west-2`).
 *
 * @throws ToilError `ZONE_INVALID` when the zone has no region in it.
 */
export function zoneToRegion(zone: string): string {
  const match = /^([a-z]{2}(?:-[a-z]+)+-\d+)[a-z]$/.exec(zone);
  if (!match)
    throw new ToilError('ZONE_INVALID', `Can't extract region from availability zone '${zone}'.`, {
      hint: 'Give an availability zone such as us-west-2a.',
    });
  return match[1]!;
}
