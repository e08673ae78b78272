import { ToilError } from '@toil/core';
import '@toil/provisioner';

/** The Compute Engine clients the provisioner uses (from `@google-cloud/compute`, loaded lazily). */
export interface GceClients {
  instances: any;
  zones: any;
  machineTypes: any;
  images: any;
  disks: any;
  firewalls: any;
  zoneOperations: any;
  globalOperations: any;
}

/** Where the API is and who calls it. */
export interface GceConnection {
  project: string;
  clients: GceClients;
  /** GETs a Google API URL with the same credentials (the Cloud Billing Catalog's prices). */
  get: (url: string) => Promise<unknown>;
}

/** A Compute Engine error in one shape: HTTP status, reason (`notFound`…) and message. */
export interface GceApiError {
  status?: number;
  reason?: string;
  message: string;
}

const CREDENTIALS_HINT =
  'Set GOOGLE_APPLICATION_CREDENTIALS to a service-account (or workload identity) JSON file, or run: gcloud auth application-default login';

/**
 * Reads a Compute Engine error from what the client library threw: 6.x puts the HTTP status
 * in `code` and the JSON error body in `message`.
 */
export function gceError(error: unknown): GceApiError {
  const e = error as { code?: unknown; status?: unknown; message?: string };
  const status =
    typeof e?.code === 'number' && e.code >= 100
      ? e.code
      : typeof e?.status === 'number'
        ? e.status
        : undefined;
  let message = String(e?.message ?? error);
  let reason: string | undefined;
  try {
    const body = JSON.parse(message) as {
      error?: { message?: string; errors?: { reason?: string }[] };
    };
    if (body.error?.message) message = body.error.message;
    reason = body.error?.errors?.[0]?.reason;
  } catch {
    // not a JSON body: a network or auth error
  }
  return { status, reason, message };
}

/** True for errors worth retrying: rate limits and transient backend or network errors. */
export function isTransient(error: GceApiError, raw: unknown): boolean {
  if (error.status === 429 || (error.status !== undefined && error.status >= 500)) return true;
  if (
    error.reason &&
    ['rateLimitExceeded', 'userRateLimitExceeded', 'backendError', 'resourceNotReady'].includes(
      error.reason,
    )
  )
    return true;
  const code = (raw as { code?: unknown })?.code;
  return typeof code === 'string' && ['ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code);
}

function isCredentialsError(message: string): boolean {
  return /default credentials|could not load|GOOGLE_APPLICATION_CREDENTIALS|invalid_grant|unauthori[sz]ed_client|invalid_client/i.test(
    message,
  );
}

/** Converts anything the client threw into a ToilError with a hint. */
export function toToilError(error: unknown, what: string): ToilError {
  if (ToilError.is(error)) return error;
  const e = gceError(error);
  if (e.status === 401 || isCredentialsError(e.message))
    return new ToilError(
      'CLOUD_CREDENTIALS',
      `Google Cloud credentials were refused or not found (${what}).`,
      {
        hint: CREDENTIALS_HINT,
        cause: error,
      },
    );
  if (e.status === 403 && e.reason !== 'QUOTA_EXCEEDED')
    return new ToilError('CLOUD_CREDENTIALS', `Compute Engine denied ${what}: ${e.message}`, {
      hint: 'Give the credentials the Compute Instance Admin and Security Admin roles in the project.',
      cause: error,
    });
  return new ToilError('CLOUD_API', `Compute Engine ${what} failed: ${e.message}`, {
    hint: 'Check the project, zone and quotas; run again with --logLevel debug for details.',
    cause: error,
    data: { status: e.status, reason: e.reason },
  });
}

/** The endpoint parts the client takes, from a URL like `http://127.0.0.1:8080`. */
export function endpointOptions(endpoint: string | undefined): Record<string, unknown> {
  if (!endpoint) return {};
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ToilError('INVALID_ARGUMENT', `TOIL_GCE_ENDPOINT is not a URL: ${endpoint}`, {
      hint: 'For example TOIL_GCE_ENDPOINT=https://compute.googleapis.com',
    });
  }
  const protocol = url.protocol.replace(':', '');
  return {
    apiEndpoint: url.hostname,
    protocol,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
  };
}

/**
 * Connects to Compute Engine through the standard Google auth chain
 * (`GOOGLE_APPLICATION_CREDENTIALS`, application-default credentials), at `TOIL_GCE_ENDPOINT`
 * when set. The project is `project` (`--project`), else `GOOGLE_CLOUD_PROJECT` (or
 * `GCLOUD_PROJECT`), else the credentials' own.
 *
 * @throws ToilError `CLOUD_CREDENTIALS` with the fix when there are no credentials or project.
 */
export async function connect(env: NodeJS.ProcessEnv, project?: string): Promise<GceConnection> {
  // The eight clients used, each from its own module: the package's index loads all of its
  // hundred-odd clients, which costs every GCE command about 1.5 s of CPU before its first call.
  const [
    { InstancesClient },
    { ZonesClient },
    { MachineTypesClient },
    { ImagesClient },
    { DisksClient },
    { FirewallsClient },
    { ZoneOperationsClient },
    { GlobalOperationsClient },
    { GoogleAuth },
  ] = await Promise.all([
    import('@google-cloud/compute/build/src/v1/instances_client.js'),
    import('@google-cloud/compute/build/src/v1/zones_client.js'),
    import('@google-cloud/compute/build/src/v1/machine_types_client.js'),
    import('@google-cloud/compute/build/src/v1/images_client.js'),
    import('@google-cloud/compute/build/src/v1/disks_client.js'),
    import('@google-cloud/compute/build/src/v1/firewalls_client.js'),
    import('@google-cloud/compute/build/src/v1/zone_operations_client.js'),
    import('@google-cloud/compute/build/src/v1/global_operations_client.js'),
    import('google-auth-library'),
  ]);
  const auth = new GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    ...(env.GOOGLE_APPLICATION_CREDENTIALS
      ? { keyFilename: env.GOOGLE_APPLICATION_CREDENTIALS }
      : {}),
    ...(project || env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT
      ? { projectId: project || env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT }
      : {}),
  });
  let resolved: string | null | undefined;
  try {
    await auth.getClient();
    resolved = await auth.getProjectId();
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    if (/project id/i.test(message))
      throw new ToilError('CLOUD_CREDENTIALS', 'No Google Cloud project found.', {
        hint: 'Give --project, set GOOGLE_CLOUD_PROJECT, or use credentials that name their project.',
        cause: error,
      });
    throw new ToilError('CLOUD_CREDENTIALS', 'No usable Google Cloud credentials found.', {
      hint: CREDENTIALS_HINT,
      cause: error,
    });
  }
  if (!resolved)
    throw new ToilError('CLOUD_CREDENTIALS', 'No Google Cloud project found.', {
      hint: 'Give --project, set GOOGLE_CLOUD_PROJECT, or use credentials that name their project.',
    });
  const options = { auth, fallback: true, ...endpointOptions(env.TOIL_GCE_ENDPOINT) };
  return {
    project: resolved,
    get: async (url) => (await auth.request({ url })).data,
    clients: {
      instances: new InstancesClient(options),
      zones: new ZonesClient(options),
      machineTypes: new MachineTypesClient(options),
      images: new ImagesClient(options),
      disks: new DisksClient(options),
      firewalls: new FirewallsClient(options),
      zoneOperations: new ZoneOperationsClient(options),
      globalOperations: new GlobalOperationsClient(options),
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts calls by name and retries transient errors with exponential backoff. */
export class ApiCaller {
  /** API calls made, by name. */
  readonly calls: Record<string, number> = {};

  constructor(private readonly options: { retryDeadlineMs?: number; firstDelayMs?: number } = {}) {}

  /**
   * Runs one API call, retrying rate limits and transient errors for up to
   * `retryDeadlineMs` (default 120 s); other errors are thrown as they are.
   */
  async call(name: string, fn: () => Promise<any>): Promise<any> {
    const deadline = Date.now() + (this.options.retryDeadlineMs ?? 120_000);
    let delay = this.options.firstDelayMs ?? 500;
    for (;;) {
      this.calls[name] = (this.calls[name] ?? 0) + 1;
      try {
        return await fn();
      } catch (error) {
        const e = gceError(error);
        if (!isTransient(e, error) || Date.now() + delay > deadline) throw error;
        await sleep(delay + Math.floor(Math.random() * delay * 0.2));
        delay = Math.min(delay * 2, 16_000);
      }
    }
  }
}
