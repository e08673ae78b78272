import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { billingCatalogAnswer } from './gce-fake-billing.js';

/**
 * A stateful fake of the Compute Engine REST API (`/compute/v1`) on 127.0.0.1, for tests that
 * drive the real `@google-cloud/compute` client. Nothing emulates Compute Engine, so this is
 * the one faked cloud API of the project; its own tests (`gce-fake.test.ts`) pin what it answers
 * to the API's documented responses.
 *
 * It also answers the Cloud Billing Catalog's SKU list of Compute Engine (prices per vCPU-
 * and GiB-hour: `gce-fake-billing.ts`), and the two Google endpoints the standard auth chain needs for an
 * `external_account` credentials file (STS token exchange `POST /v1/token`, Resource Manager
 * `GET /v1/projects/NUMBER`), so a client configured exactly as a user would configure one
 * (`GOOGLE_APPLICATION_CREDENTIALS` + an API endpoint) reaches it with no test hook:
 * {@link GceFake.writeCredentials}.
 *
 * Deviations from Compute Engine, on purpose:
 * - Instances get no external address: a `ONE_TO_ONE_NAT` access config is kept without a
 *   `natIP`, so clients use `networkIP`, which comes from the 10.x CIDR the test tooling chose
 *   ({@link GceFakeOptions.subnetCidr}) and is routed only into namespaces the tooling made.
 * - Lifecycle steps take {@link GceFakeOptions.tickMs} each instead of seconds.
 * - `operations.wait` returns when the operation is DONE or after
 *   {@link GceFakeOptions.waitTimeoutMs} (the real API: about 2 minutes), possibly not DONE.
 * - Aggregated lists answer one page.
 */

/** A zone the fake serves, with the machine types it offers. */
export interface FakeZone {
  name: string;
  /** e.g. `us-central1` */
  region: string;
  /** Names from {@link MACHINE_TYPES}; default: all of them. */
  machineTypes?: string[];
}

/** What {@link startGceFake} is configured with. */
export interface GceFakeOptions {
  /** Project id (default `toil-test-project`). */
  project?: string;
  /** Project number (default `123456789012`). */
  projectNumber?: string;
  /** Default: us-central1-a and -b (every machine type), europe-west1-b (no n2-*). */
  zones?: FakeZone[];
  /**
   * The IPv4 CIDR (must be inside 10.0.0.0/8) instance addresses come from; default a random
   * /24 in 10.200.0.0/13. The simulated cloud routes these addresses into its namespaces.
   */
  subnetCidr?: string;
  /** vCPUs allowed per region (quota `CPUS`, default 24). */
  cpuQuota?: number;
  /** Milliseconds per lifecycle step (PROVISIONING → STAGING → RUNNING…), default 30. */
  tickMs?: number;
  /** Longest an `operations.wait` call blocks, default 120,000 ms like the real API. */
  waitTimeoutMs?: number;
  /**
   * Where instance addresses come from instead of {@link subnetCidr}: the simulated cloud's
   * `allocateAddress()` (see `simcloud/gce.ts`).
   */
  allocateAddress?: () => string;
  /**
   * The console (serial port 1) of an instance instead of the fake's own: the simulated
   * cloud's `consoleOutput(id)`, where a real node printed its boot.
   */
  consoleOutput?: (instance: FakeInstanceView) => string | undefined;
  /**
   * Checks an `instances.insert` body before anything is created: a reason makes the insert
   * fail with 400 `simCloudRefused` (the simulated cloud refuses external addresses and
   * addresses it did not choose).
   */
  admitInstance?: (resource: Record<string, any>) => string | undefined;
}

/** A fault to inject: the next `count` requests that match answer with this error. */
export interface InjectedFault {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Pattern on the path after `/compute/v1/projects/P/` (any when absent). */
  path?: RegExp;
  /** 429 (rateLimitExceeded), 500 (backendError) or 503 (backendError, default). */
  status?: 429 | 500 | 503;
  count?: number;
}

/** What the simulated cloud sees of an instance. */
export interface FakeInstanceView {
  id: string;
  name: string;
  zone: string;
  status: InstanceStatus;
  networkIP: string;
  /** The external access configs asked for (`ONE_TO_ONE_NAT`…); empty for internal-only. */
  accessConfigs: string[];
  labels: Record<string, string>;
  metadata: Record<string, string>;
}

/** The lifecycle states of an instance (Compute Engine's `Instance.status`). */
export type InstanceStatus =
  'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'SUSPENDED' | 'TERMINATED';

/** A running fake; see {@link startGceFake}. */
export interface GceFake extends EventEmitter {
  /** `http://127.0.0.1:PORT`: the API endpoint clients point at. */
  readonly endpoint: string;
  readonly port: number;
  readonly project: string;
  /** The project's number (the default service account's email starts with it). */
  readonly projectNumber: string;
  /** The CIDR instance addresses come from. */
  readonly subnetCidr: string;
  /** Compute API requests answered so far (auth endpoints not counted). */
  readonly requestCount: number;
  /**
   * Writes an `external_account` credentials file whose token and project endpoints are this
   * fake, and returns the environment that points the standard Google auth chain at it
   * (`GOOGLE_APPLICATION_CREDENTIALS`, `METADATA_SERVER_DETECTION=none` so the chain never
   * probes the metadata server, `CLOUDSDK_CONFIG` in `dir` so no gcloud login is read).
   */
  writeCredentials(dir: string): Record<string, string>;
  /**
   * The `external_account` credentials file's text for a client that reaches this fake at
   * `endpoint` (e.g. {@link listenAlso}'s) and reads its subject token from
   * `subjectTokenPath`, and the token to put there: what a simulated node gets.
   */
  credentials(endpoint: string, subjectTokenPath: string): { json: string; subjectToken: string };
  /**
   * Serves the fake on `host` too, on the same port (a simulated node reaches the gateway
   * address, not 127.0.0.1), and resolves its endpoint `http://HOST:PORT`.
   */
  listenAlso(host: string): Promise<string>;
  /** Every instance, in creation order. */
  instances(): FakeInstanceView[];
  /** Appends text to an instance's serial port 1 output (the console). */
  appendSerialOutput(zone: string, name: string, text: string): void;
  /** Preempts an instance now (RUNNING → STOPPING → TERMINATED), as Compute Engine may. */
  preempt(zone: string, name: string): void;
  /** Sets the `CPUS` quota of every region. */
  setCpuQuota(limit: number): void;
  /** Makes the next matching requests fail (rate limits, backend errors). */
  injectFault(fault: InjectedFault): void;
  /** Names of every resource left: instances, disks, firewalls, non-default networks. */
  inventory(): { instances: string[]; disks: string[]; firewalls: string[]; networks: string[] };
  stop(): Promise<void>;
}

/** Machine types the fake knows, with Compute Engine's figures. */
export const MACHINE_TYPES: Record<string, { guestCpus: number; memoryMb: number }> = {
  'e2-micro': { guestCpus: 2, memoryMb: 1024 },
  'e2-small': { guestCpus: 2, memoryMb: 2048 },
  'e2-medium': { guestCpus: 2, memoryMb: 4096 },
  'e2-standard-2': { guestCpus: 2, memoryMb: 8192 },
  'e2-standard-4': { guestCpus: 4, memoryMb: 16384 },
  'n1-standard-1': { guestCpus: 1, memoryMb: 3840 },
  'n1-standard-2': { guestCpus: 2, memoryMb: 7680 },
  'n2-standard-2': { guestCpus: 2, memoryMb: 8192 },
  'n2-standard-4': { guestCpus: 4, memoryMb: 16384 },
};

interface FakeImage {
  project: string;
  name: string;
  family: string;
  created: string;
  diskSizeGb: string;
  deprecated?: boolean;
}

/** Public images, as in the `debian-cloud` and `ubuntu-os-cloud` projects. */
const IMAGES: FakeImage[] = [
  {
    project: 'debian-cloud',
    name: 'debian-11-bullseye-v20241112',
    family: 'debian-11',
    created: '2024-11-12T10:00:00.000-08:00',
    diskSizeGb: '10',
  },
  {
    project: 'debian-cloud',
    name: 'debian-12-bookworm-v20240110',
    family: 'debian-12',
    created: '2024-01-10T10:00:00.000-08:00',
    diskSizeGb: '10',
    deprecated: true,
  },
  {
    project: 'debian-cloud',
    name: 'debian-12-bookworm-v20241112',
    family: 'debian-12',
    created: '2024-11-12T10:00:00.000-08:00',
    diskSizeGb: '10',
  },
  {
    project: 'ubuntu-os-cloud',
    name: 'ubuntu-2204-jammy-v20241115',
    family: 'ubuntu-2204-lts',
    created: '2024-11-15T10:00:00.000-08:00',
    diskSizeGb: '10',
  },
];

const BASE = 'https://www.googleapis.com/compute/v1';
const NAME_RE = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY_RE = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE_RE = /^[a-z0-9_-]{0,63}$/;
const METADATA_LIMIT = 512 * 1024;
const METADATA_VALUE_LIMIT = 256 * 1024;

type Json = Record<string, any>;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly domain = 'global',
  ) {
    super(message);
  }
  body(): Json {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ message: this.message, domain: this.domain, reason: this.reason }],
      },
    };
  }
}

const notFound = (path: string) =>
  new ApiError(404, `The resource '${path}' was not found`, 'notFound');
const alreadyExists = (path: string) =>
  new ApiError(409, `The resource '${path}' already exists`, 'alreadyExists');
const invalid = (field: string, value: string, why: string) =>
  new ApiError(400, `Invalid value for field '${field}': '${value}'. ${why}`, 'invalid');

interface Operation extends Json {
  id: string;
  name: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
}

interface Instance extends Json {
  id: string;
  name: string;
  status: InstanceStatus;
}

interface Resource extends Json {
  id: string;
  name: string;
}

function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets[0] !== 10 || bits < 8 || bits > 29 || octets.some((o) => o > 255))
    throw new Error(`the fake's subnet must be inside 10.0.0.0/8 (/8../29): ${cidr}`);
  const base = (octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!;
  const size = 2 ** (32 - bits);
  return { base: (base >>> 0) & (~(size - 1) >>> 0), size };
}

function ipString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function fingerprint(): string {
  return randomBytes(8).toString('base64');
}

function lastSegment(urlOrPath: string): string {
  return urlOrPath.split('/').filter(Boolean).pop() ?? '';
}

function nowRfc3339(): string {
  return new Date().toISOString().replace('Z', '-00:00');
}

/**
 * A filter as Compute Engine's `list` methods take it: one or more expressions (`field = value`,
 * `field != value`, `field eq regex`, `field ne regex`, `labels.k:*`), optionally parenthesised,
 * joined by spaces or `AND`. Returns a predicate, or throws a 400 for what it cannot parse.
 */
export function compileFilter(filter: string | undefined): (item: Json) => boolean {
  if (!filter || !filter.trim()) return () => true;
  const terms: string[] = [];
  const parenthesised = filter.trim().startsWith('(') ? filter.match(/\(([^()]*)\)/g) : null;
  if (parenthesised) {
    const rest = filter.replace(/\(([^()]*)\)/g, ' ').replace(/\bAND\b/g, ' ');
    if (rest.trim())
      throw new ApiError(
        400,
        `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`,
        'invalid',
      );
    for (const p of parenthesised) terms.push(p.slice(1, -1).trim());
  } else {
    terms.push(...filter.split(/\s+AND\s+/).map((t) => t.trim()));
  }
  const predicates = terms.map((term) => {
    const m = /^([A-Za-z][\w.-]*)\s*(=|!=|:|\beq\b|\bne\b)\s*(.*)$/.exec(term);
    if (!m)
      throw new ApiError(
        400,
        `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`,
        'invalid',
      );
    const [, field, op, raw] = m as unknown as [string, string, string, string];
    const value = raw
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .replace(/^'(.*)'$/, '$1');
    const get = (item: Json): unknown =>
      field.split('.').reduce<any>((v, k) => (v == null ? undefined : v[k]), item);
    switch (op) {
      case '=':
        return (item: Json) => String(get(item) ?? '') === value;
      case '!=':
        return (item: Json) => String(get(item) ?? '') !== value;
      case ':':
        return (item: Json) =>
          value === '*' ? get(item) !== undefined : String(get(item) ?? '').includes(value);
      case 'eq':
        return (item: Json) => new RegExp(`^(?:${value})$`).test(String(get(item) ?? ''));
      default:
        return (item: Json) => !new RegExp(`^(?:${value})$`).test(String(get(item) ?? ''));
    }
  });
  return (item) => predicates.every((p) => p(item));
}

function paginate(
  items: Json[],
  query: URLSearchParams,
): { items: Json[]; nextPageToken?: string } {
  const max = Math.min(Number(query.get('maxResults') ?? 500) || 500, 500);
  const token = query.get('pageToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new ApiError(
      400,
      `Invalid value for field 'pageToken': '${token}'. Invalid page token.`,
      'invalid',
    );
  const page = items.slice(start, start + max);
  return start + max < items.length
    ? { items: page, nextPageToken: Buffer.from(String(start + max)).toString('base64url') }
    : { items: page };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

class FakeState extends EventEmitter {
  readonly project: string;
  readonly projectNumber: string;
  readonly zones: Map<string, FakeZone>;
  readonly subnetCidr: string;
  cpuQuota: number;
  readonly tickMs: number;
  readonly waitTimeoutMs: number;
  readonly allocateAddress?: () => string;
  readonly consoleOutput?: (instance: FakeInstanceView) => string | undefined;
  readonly admitInstance?: (resource: Json) => string | undefined;
  requestCount = 0;
  readonly tokens = new Set<string>();
  readonly faults: InjectedFault[] = [];
  private nextId = BigInt(Date.now()) * 1000n;
  private readonly subnet: { base: number; size: number };
  private readonly usedIps = new Set<number>();
  readonly instanceMap = new Map<string, Instance>(); // key zone/name
  readonly serial = new Map<string, string>(); // key instance id
  readonly disks = new Map<string, Resource>(); // key zone/name
  readonly networks = new Map<string, Resource>();
  readonly firewalls = new Map<string, Resource>();
  readonly operations = new Map<string, Operation>(); // key scope/name, scope = zone or 'global'
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly doneWaiters = new Map<string, Array<() => void>>();

  constructor(options: GceFakeOptions) {
    super();
    this.project = options.project ?? 'toil-test-project';
    this.projectNumber = options.projectNumber ?? '123456789012';
    const zones = options.zones ?? [
      { name: 'us-central1-a', region: 'us-central1' },
      { name: 'us-central1-b', region: 'us-central1' },
      {
        name: 'europe-west1-b',
        region: 'europe-west1',
        machineTypes: Object.keys(MACHINE_TYPES).filter((t) => !t.startsWith('n2-')),
      },
    ];
    this.zones = new Map(zones.map((z) => [z.name, z]));
    this.subnetCidr =
      options.subnetCidr ??
      `10.${200 + Math.floor(Math.random() * 8)}.${Math.floor(Math.random() * 256)}.0/24`;
    this.subnet = parseCidr(this.subnetCidr);
    this.cpuQuota = options.cpuQuota ?? 24;
    this.tickMs = options.tickMs ?? 30;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 120_000;
    this.allocateAddress = options.allocateAddress;
    this.consoleOutput = options.consoleOutput;
    this.admitInstance = options.admitInstance;
    this.networks.set('default', {
      kind: 'compute#network',
      id: this.newId(),
      name: 'default',
      autoCreateSubnetworks: true,
      creationTimestamp: nowRfc3339(),
      selfLink: `${this.projectUrl()}/global/networks/default`,
    });
  }

  newId(): string {
    this.nextId += BigInt(1 + Math.floor(Math.random() * 997));
    return this.nextId.toString();
  }

  projectUrl(): string {
    return `${BASE}/projects/${this.project}`;
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiters of this.doneWaiters.values()) for (const w of waiters) w();
    this.doneWaiters.clear();
  }

  zone(name: string): FakeZone {
    const zone = this.zones.get(name);
    if (!zone) throw notFound(`projects/${this.project}/zones/${name}`);
    return zone;
  }

  allocateIp(): number | undefined {
    if (this.allocateAddress) {
      const parts = this.allocateAddress().split('.').map(Number);
      return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    }
    // .0 is the network, .1 the gateway, the last address the broadcast (as in a GCE subnet)
    for (let i = 2; i < this.subnet.size - 1; i++) {
      const ip = this.subnet.base + i;
      if (!this.usedIps.has(ip)) {
        this.usedIps.add(ip);
        return ip;
      }
    }
    return undefined;
  }

  releaseIp(ip: string): void {
    const parts = ip.split('.').map(Number);
    this.usedIps.delete(
      ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0,
    );
  }

  /** Starts an operation; `work` runs after one tick and ends it (or throws an ApiError into it). */
  operation(
    scope: string,
    operationType: string,
    targetLink: string,
    targetId: string | undefined,
    work: (finish: (error?: ApiError) => void) => void,
  ): Operation {
    const id = this.newId();
    const name = `operation-${Date.now()}-${randomBytes(6).toString('hex')}`;
    const scopeUrl =
      scope === 'global' ? `${this.projectUrl()}/global` : `${this.projectUrl()}/zones/${scope}`;
    const op: Operation = {
      kind: 'compute#operation',
      id,
      name,
      operationType,
      targetLink,
      ...(targetId ? { targetId } : {}),
      status: 'PENDING',
      user: 'toil-test@example.invalid',
      progress: 0,
      insertTime: nowRfc3339(),
      selfLink: `${scopeUrl}/operations/${name}`,
      ...(scope === 'global' ? {} : { zone: `${this.projectUrl()}/zones/${scope}` }),
    };
    this.operations.set(`${scope}/${name}`, op);
    this.later(this.tickMs, () => {
      op.status = 'RUNNING';
      op.startTime = nowRfc3339();
      op.progress = 0;
      let finished = false;
      const finish = (error?: ApiError) => {
        if (finished) return;
        finished = true;
        op.status = 'DONE';
        op.progress = 100;
        op.endTime = nowRfc3339();
        if (error) {
          op.error = { errors: [{ code: error.reason, message: error.message }] };
          op.httpErrorStatusCode = error.status;
          op.httpErrorMessage = error.status === 403 ? 'FORBIDDEN' : 'BAD REQUEST';
        }
        const waiters = this.doneWaiters.get(`${scope}/${name}`) ?? [];
        this.doneWaiters.delete(`${scope}/${name}`);
        for (const w of waiters) w();
      };
      try {
        work(finish);
      } catch (e) {
        if (e instanceof ApiError) finish(e);
        else throw e;
      }
    });
    return op;
  }

  findOperation(scope: string, name: string): Operation {
    const op = this.operations.get(`${scope}/${name}`);
    if (op) return op;
    // The client library hands back an operation's id as its name: accept both.
    for (const [key, candidate] of this.operations)
      if (key.startsWith(`${scope}/`) && candidate.id === name) return candidate;
    const where = scope === 'global' ? 'global' : `zones/${scope}`;
    throw notFound(`projects/${this.project}/${where}/operations/${name}`);
  }

  waitDone(scope: string, op: Operation): Promise<void> {
    if (op.status === 'DONE') return Promise.resolve();
    return new Promise((resolve) => {
      const key = `${scope}/${op.name}`;
      const timer = setTimeout(done, this.waitTimeoutMs);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      const list = this.doneWaiters.get(key) ?? [];
      list.push(done);
      this.doneWaiters.set(key, list);
    });
  }

  regionCpus(region: string): number {
    let cpus = 0;
    for (const instance of this.instanceMap.values()) {
      if (instance.status === 'TERMINATED') continue;
      const zone = this.zones.get(lastSegment(instance.zone));
      if (zone?.region === region)
        cpus += MACHINE_TYPES[lastSegment(instance.machineType)]!.guestCpus;
    }
    return cpus;
  }

  view(instance: Instance): FakeInstanceView {
    return {
      id: instance.id,
      name: instance.name,
      zone: lastSegment(instance.zone),
      status: instance.status,
      networkIP: instance.networkInterfaces[0].networkIP,
      accessConfigs: ((instance.networkInterfaces[0].accessConfigs ?? []) as Json[]).map((a) =>
        String(a.type),
      ),
      labels: { ...(instance.labels ?? {}) },
      metadata: Object.fromEntries(
        (instance.metadata.items ?? []).map((i: Json) => [i.key, String(i.value ?? '')]),
      ),
    };
  }

  /** Removes a stopped instance: its address, console, auto-delete disks; `instance-deleted`. */
  removeInstance(instance: Instance): void {
    const zone = lastSegment(instance.zone);
    this.instanceMap.delete(instanceKey(zone, instance.name));
    this.serial.delete(instance.id);
    this.releaseIp(instance.networkInterfaces[0].networkIP);
    for (const attached of instance.disks as Json[]) {
      const diskKey = instanceKey(zone, lastSegment(attached.source));
      const disk = this.disks.get(diskKey);
      if (!disk) continue;
      if (attached.autoDelete) this.disks.delete(diskKey);
      else disk.users = (disk.users as string[]).filter((u) => u !== instance.selfLink);
    }
    this.emit('instance-deleted', this.view(instance));
  }

  setStatus(instance: Instance, status: InstanceStatus): void {
    instance.status = status;
    if (status === 'RUNNING') instance.lastStartTimestamp = nowRfc3339();
    if (status === 'TERMINATED') instance.lastStopTimestamp = nowRfc3339();
    this.emit('instance-status', this.view(instance));
  }

  /**
   * Without the simulated cloud, plays cloud-init's console: a `#cloud-config` user data
   * that does not turn `ssh.emit_keys_to_console` off gets the host-key fingerprint block
   * (random keys: nothing listens on the address) as cloud-init prints it.
   */
  bootConsole(instance: Instance): void {
    if (
      this.consoleOutput ||
      !this.instanceMap.has(instanceKey(lastSegment(instance.zone), instance.name))
    )
      return;
    const userData = String(
      (instance.metadata.items ?? []).find((i: Json) => i.key === 'user-data')?.value ?? '',
    );
    // cloud-init prints the block unless told not to (ssh.emit_keys_to_console: false)
    if (
      !userData.startsWith('#cloud-config') ||
      /"?emit_keys_to_console"?\s*:\s*false/.test(userData)
    )
      return;
    const fp = () => `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const host = `root@${instance.name}`;
    this.serial.set(
      instance.id,
      (this.serial.get(instance.id) ?? '') +
        [
          `Cloud-init v. 24.1 finished modules:final`,
          'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
          `ec2: 256 ${fp()} ${host} (ECDSA)`,
          `ec2: 256 ${fp()} ${host} (ED25519)`,
          'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
          '',
        ].join('\r\n'),
    );
  }

  resolveImage(source: string): FakeImage {
    const m = /(?:^|\/)projects\/([^/]+)\/global\/images\/(family\/)?([^/]+)$/.exec(source);
    const project = m?.[1];
    const image = m?.[2]
      ? newestInFamily(project!, m[3]!)
      : IMAGES.find((i) => i.project === project && i.name === m?.[3]);
    if (!image) throw notFound(source.replace(/^.*?(projects\/)/, '$1'));
    return image;
  }
}

function newestInFamily(project: string, family: string): FakeImage | undefined {
  return IMAGES.filter((i) => i.project === project && i.family === family && !i.deprecated).sort(
    (a, b) => b.created.localeCompare(a.created),
  )[0];
}

function imageResource(image: FakeImage): Json {
  return {
    kind: 'compute#image',
    id: String(Math.abs(hash(image.name))),
    name: image.name,
    family: image.family,
    creationTimestamp: image.created,
    diskSizeGb: image.diskSizeGb,
    status: 'READY',
    architecture: 'X86_64',
    selfLink: `${BASE}/projects/${image.project}/global/images/${image.name}`,
    ...(image.deprecated
      ? {
          deprecated: {
            state: 'DEPRECATED',
            replacement: `${BASE}/projects/${image.project}/global/images/${newestInFamily(image.project, image.family)!.name}`,
          },
        }
      : {}),
  };
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}

function checkLabels(field: string, labels: unknown): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    const value = String(v ?? '');
    if (!LABEL_KEY_RE.test(k) || !LABEL_VALUE_RE.test(value))
      throw invalid(
        field,
        `${k}=${value}`,
        'Label keys must start with a lowercase letter; keys and values may contain only lowercase letters, digits, underscores and dashes, at most 63 characters.',
      );
    out[k] = value;
  }
  if (Object.keys(out).length > 64) throw invalid(field, '', 'At most 64 labels.');
  return out;
}

function checkMetadata(metadata: Json | undefined): Json {
  const items = (metadata?.items ?? []) as Json[];
  let total = 0;
  const seen = new Set<string>();
  for (const item of items) {
    const key = String(item.key ?? '');
    const value = String(item.value ?? '');
    if (!/^[a-zA-Z0-9-_]{1,128}$/.test(key))
      throw invalid(
        'resource.metadata',
        key,
        'Metadata keys may contain letters, digits, - and _.',
      );
    if (seen.has(key))
      throw new ApiError(400, `Duplicate metadata key '${key}'.`, 'duplicateMetadataKey');
    seen.add(key);
    if (Buffer.byteLength(value) > METADATA_VALUE_LIMIT)
      throw invalid('resource.metadata', key, 'Metadata value exceeds 256 KB.');
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (total > METADATA_LIMIT)
    throw new ApiError(400, 'Metadata total size exceeds 512 KB.', 'invalid');
  return {
    kind: 'compute#metadata',
    fingerprint: fingerprint(),
    items: items.map((i) => ({ key: String(i.key), value: String(i.value ?? '') })),
  };
}

/** Routes one Compute API request; returns [status, body]. */
async function route(
  state: FakeState,
  method: string,
  parts: string[],
  query: URLSearchParams,
  body: Json,
): Promise<[number, Json]> {
  const P = state.project;
  const list = (kind: string, items: Json[]) => {
    const filtered = items.filter(compileFilter(query.get('filter') ?? undefined));
    const page = paginate(filtered, query);
    return [200, { kind, id: `projects/${P}`, ...page, selfLink: 'x' }] as [number, Json];
  };
  // zones/Z/COLLECTION/NAME/VERB or global/COLLECTION/NAME/VERB
  const [scope, scopeName, third, resourceName, verb, ...rest] = parts;

  // images of public projects: projects/debian-cloud/global/images[/family/F]
  if (scope === 'global' && scopeName === 'images') {
    // parts: global images [name | family F]
    return [404, notFound(`projects/${P}/global/images/${third ?? ''}`).body()];
  }

  if (scope === 'zones' && scopeName === undefined && method === 'GET') {
    return list(
      'compute#zoneList',
      [...state.zones.values()].map((z) => zoneResource(state, z)),
    );
  }
  if (scope === 'zones' && third === undefined && method === 'GET') {
    return [200, zoneResource(state, state.zone(scopeName!))];
  }
  if (
    scope === 'aggregated' &&
    (scopeName === 'instances' || scopeName === 'disks') &&
    method === 'GET'
  )
    return [200, aggregated(state, scopeName, query)];
  if (scope === 'zones') {
    const zone = state.zone(scopeName!);
    switch (third) {
      case 'machineTypes':
        return machineTypes(state, zone, method, resourceName, list);
      case 'instances':
        return instances(state, zone, method, resourceName, verb, query, body, list);
      case 'disks':
        return collection(state, disks(state, zone), method, resourceName, body, list);
      case 'operations':
        return operations(state, zone.name, method, resourceName, verb, list);
    }
  }
  if (scope === 'global') {
    switch (scopeName) {
      case 'networks':
        return collection(state, networks(state), method, third, body, list);
      case 'firewalls':
        return collection(state, firewalls(state), method, third, body, list);
      case 'operations':
        return operations(state, 'global', method, third, resourceName, list);
    }
  }
  void rest;
  return [404, notFound(`projects/${P}/${parts.join('/')}`).body()];
}

function zoneResource(state: FakeState, z: FakeZone): Json {
  return {
    kind: 'compute#zone',
    id: String(Math.abs(hash(z.name))),
    name: z.name,
    status: 'UP',
    region: `${state.projectUrl()}/regions/${z.region}`,
    selfLink: `${state.projectUrl()}/zones/${z.name}`,
    availableCpuPlatforms: ['Intel Cascade Lake', 'AMD Rome'],
  };
}

function machineTypeResource(state: FakeState, zone: string, name: string): Json {
  const t = MACHINE_TYPES[name]!;
  return {
    kind: 'compute#machineType',
    id: String(Math.abs(hash(`${zone}/${name}`))),
    name,
    description: `${t.guestCpus} vCPU${t.guestCpus > 1 ? 's' : ''}, ${t.memoryMb / 1024} GB RAM`,
    guestCpus: t.guestCpus,
    memoryMb: t.memoryMb,
    isSharedCpu: name === 'e2-micro' || name === 'e2-small' || name === 'e2-medium',
    maximumPersistentDisks: 128,
    maximumPersistentDisksSizeGb: '263168',
    zone,
    selfLink: `${state.projectUrl()}/zones/${zone}/machineTypes/${name}`,
  };
}

function zoneMachineTypes(zone: FakeZone): string[] {
  return zone.machineTypes ?? Object.keys(MACHINE_TYPES);
}

function machineTypes(
  state: FakeState,
  zone: FakeZone,
  method: string,
  name: string | undefined,
  list: (kind: string, items: Json[]) => [number, Json],
): [number, Json] {
  if (method !== 'GET') return [405, { error: { code: 405, message: 'Method not allowed' } }];
  const names = zoneMachineTypes(zone);
  if (name === undefined)
    return list(
      'compute#machineTypeList',
      names.map((n) => machineTypeResource(state, zone.name, n)),
    );
  if (!names.includes(name))
    throw notFound(`projects/${state.project}/zones/${zone.name}/machineTypes/${name}`);
  return [200, machineTypeResource(state, zone.name, name)];
}

function instanceKey(zone: string, name: string): string {
  return `${zone}/${name}`;
}

function getInstance(state: FakeState, zone: string, name: string): Instance {
  const instance = state.instanceMap.get(instanceKey(zone, name));
  if (!instance) throw notFound(`projects/${state.project}/zones/${zone}/instances/${name}`);
  return instance;
}

function instances(
  state: FakeState,
  zone: FakeZone,
  method: string,
  name: string | undefined,
  verb: string | undefined,
  query: URLSearchParams,
  body: Json,
  list: (kind: string, items: Json[]) => [number, Json],
): [number, Json] {
  const P = state.project;
  const zoneUrl = `${state.projectUrl()}/zones/${zone.name}`;
  if (name === undefined) {
    if (method === 'GET')
      return list(
        'compute#instanceList',
        [...state.instanceMap.values()]
          .filter((i) => lastSegment(i.zone) === zone.name)
          .sort((a, b) => a.name.localeCompare(b.name)),
      );
    if (method === 'POST') return [200, insertInstance(state, zone, body)];
  }
  const instance = getInstance(state, zone.name, name!);
  const link = `${zoneUrl}/instances/${instance.name}`;
  if (verb === undefined && method === 'GET') return [200, instance];
  if (verb === undefined && method === 'DELETE') {
    if (instance.deleting)
      throw new ApiError(
        400,
        `The resource 'projects/${P}/zones/${zone.name}/instances/${instance.name}' is not ready`,
        'resourceNotReady',
      );
    instance.deleting = true;
    const op = state.operation(zone.name, 'delete', link, instance.id, (finish) => {
      const wasRunning = instance.status !== 'TERMINATED';
      if (wasRunning) state.setStatus(instance, 'STOPPING');
      state.later(wasRunning ? state.tickMs : 0, () => {
        state.removeInstance(instance);
        finish();
      });
    });
    return [200, op];
  }
  if (verb === 'stop' && method === 'POST') {
    const op = state.operation(zone.name, 'stop', link, instance.id, (finish) => {
      if (instance.status === 'TERMINATED') return finish();
      state.setStatus(instance, 'STOPPING');
      state.later(state.tickMs, () => {
        state.setStatus(instance, 'TERMINATED');
        finish();
      });
    });
    return [200, op];
  }
  if (verb === 'start' && method === 'POST') {
    const op = state.operation(zone.name, 'start', link, instance.id, (finish) => {
      if (instance.status === 'RUNNING') return finish();
      if (instance.status !== 'TERMINATED')
        throw new ApiError(400, `The resource '${link}' is not ready`, 'resourceNotReady');
      state.setStatus(instance, 'STAGING');
      state.later(state.tickMs, () => {
        state.setStatus(instance, 'RUNNING');
        finish();
      });
    });
    return [200, op];
  }
  if (verb === 'setLabels' && method === 'POST') {
    if (body.labelFingerprint !== instance.labelFingerprint)
      throw new ApiError(
        412,
        'Labels fingerprint either invalid or resource labels have changed',
        'conditionNotMet',
      );
    const labels = checkLabels('labels', body.labels);
    const op = state.operation(zone.name, 'setLabels', link, instance.id, (finish) => {
      instance.labels = labels;
      instance.labelFingerprint = fingerprint();
      finish();
    });
    return [200, op];
  }
  if (verb === 'setMetadata' && method === 'POST') {
    if (body.fingerprint !== instance.metadata.fingerprint)
      throw new ApiError(
        412,
        'Supplied fingerprint does not match current metadata fingerprint.',
        'conditionNotMet',
      );
    const metadata = checkMetadata(body);
    const op = state.operation(zone.name, 'setMetadata', link, instance.id, (finish) => {
      instance.metadata = metadata;
      state.emit('instance-metadata', state.view(instance));
      finish();
    });
    return [200, op];
  }
  if (verb === 'serialPort' && method === 'GET') {
    const port = Number(query.get('port') ?? 1);
    if (port < 1 || port > 4) throw invalid('port', String(port), 'Must be between 1 and 4.');
    const contents =
      port !== 1
        ? ''
        : state.consoleOutput
          ? (state.consoleOutput(state.view(instance)) ?? '')
          : (state.serial.get(instance.id) ?? '');
    const all = Buffer.from(contents);
    const start = Math.max(0, Math.min(Number(query.get('start') ?? 0) || 0, all.length));
    return [
      200,
      {
        kind: 'compute#serialPortOutput',
        contents: all.subarray(start).toString(),
        start: String(start),
        next: String(all.length),
        selfLink: `${link}/serialPort`,
      },
    ];
  }
  throw notFound(`projects/${P}/zones/${zone.name}/instances/${name}/${verb ?? ''}`);
}

function insertInstance(state: FakeState, zone: FakeZone, body: Json): Json {
  const P = state.project;
  const name = String(body.name ?? '');
  if (!NAME_RE.test(name))
    throw invalid(
      'resource.name',
      name,
      "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
    );
  const refusal = state.admitInstance?.(body);
  if (refusal) throw new ApiError(400, `simulated cloud: ${refusal}`, 'simCloudRefused');
  const zoneUrl = `${state.projectUrl()}/zones/${zone.name}`;
  const link = `${zoneUrl}/instances/${name}`;
  if (state.instanceMap.has(instanceKey(zone.name, name)))
    throw alreadyExists(`projects/${P}/zones/${zone.name}/instances/${name}`);
  const typeRef = String(body.machineType ?? '');
  const type = lastSegment(typeRef);
  if (!zoneMachineTypes(zone).includes(type))
    throw invalid(
      'resource.machineType',
      typeRef,
      `Machine type with name '${type}' does not exist in zone '${zone.name}'.`,
    );
  const labels = checkLabels('resource.labels', body.labels);
  const metadata = checkMetadata(body.metadata);
  const spot =
    Boolean(body.scheduling?.preemptible) || body.scheduling?.provisioningModel === 'SPOT';
  const terminationAction = body.scheduling?.instanceTerminationAction as string | undefined;
  if (terminationAction !== undefined && !['STOP', 'DELETE'].includes(terminationAction))
    throw invalid(
      'resource.scheduling.instanceTerminationAction',
      terminationAction,
      'Must be STOP or DELETE.',
    );
  if (terminationAction !== undefined && !spot)
    throw invalid(
      'resource.scheduling.instanceTerminationAction',
      terminationAction,
      'Instance termination action is only supported for Spot VMs.',
    );
  // The email `default` names the project's Compute Engine default service account.
  const serviceAccounts = ((body.serviceAccounts as Json[] | undefined) ?? []).map((a) => ({
    email:
      a.email === 'default' || a.email === undefined
        ? `${state.projectNumber}-compute@developer.gserviceaccount.com`
        : String(a.email),
    scopes: (a.scopes as string[] | undefined) ?? [],
  }));
  const nics = (body.networkInterfaces as Json[] | undefined) ?? [{}];
  const networkName = lastSegment(String(nics[0]?.network ?? 'global/networks/default'));
  if (!state.networks.has(networkName))
    throw notFound(`projects/${P}/global/networks/${networkName}`);
  const attached = (body.disks as Json[] | undefined) ?? [];
  const boot = attached.find((d) => d.boot) ?? attached[0];
  if (!boot?.initializeParams?.sourceImage && !boot?.source)
    throw new ApiError(
      400,
      "Invalid value for field 'resource.disks': ''. Boot disk must be specified.",
      'invalid',
    );
  const newDisks: Resource[] = [];
  for (const [index, d] of attached.entries()) {
    if (d.source) {
      const existing = state.disks.get(instanceKey(zone.name, lastSegment(d.source)));
      if (!existing) throw notFound(String(d.source).replace(/^.*?(projects\/)/, '$1'));
      if ((existing.users as string[]).length)
        throw new ApiError(
          400,
          `The disk resource '${existing.selfLink}' is already being used by '${existing.users[0]}'`,
          'resourceInUseByAnotherResource',
        );
      continue;
    }
    const params = d.initializeParams ?? {};
    const image = params.sourceImage ? state.resolveImage(String(params.sourceImage)) : undefined;
    const diskName = String(params.diskName ?? (index === 0 ? name : `${name}-${index}`));
    if (state.disks.has(instanceKey(zone.name, diskName)))
      throw alreadyExists(`projects/${P}/zones/${zone.name}/disks/${diskName}`);
    const sizeGb = String(params.diskSizeGb ?? image?.diskSizeGb ?? '10');
    if (image && Number(sizeGb) < Number(image.diskSizeGb))
      throw invalid(
        'resource.disks[0].initializeParams.diskSizeGb',
        sizeGb,
        `Requested disk size cannot be smaller than the image size (${image.diskSizeGb} GB)`,
      );
    newDisks.push({
      kind: 'compute#disk',
      id: state.newId(),
      name: diskName,
      sizeGb,
      zone: zoneUrl,
      status: 'CREATING',
      type: `${zoneUrl}/diskTypes/${lastSegment(String(params.diskType ?? 'pd-standard'))}`,
      ...(image
        ? { sourceImage: imageResource(image).selfLink, sourceImageId: imageResource(image).id }
        : {}),
      labels: checkLabels('resource.disks[].initializeParams.labels', params.labels),
      labelFingerprint: fingerprint(),
      users: [link],
      creationTimestamp: nowRfc3339(),
      selfLink: `${zoneUrl}/disks/${diskName}`,
      autoDelete: d.autoDelete ?? true,
      boot: d === boot,
    });
  }
  const instanceId = state.newId();
  const op = state.operation(zone.name, 'insert', link, instanceId, (finish) => {
    const cpus = MACHINE_TYPES[type]!.guestCpus;
    const used = state.regionCpus(zone.region);
    if (used + cpus > state.cpuQuota)
      throw new ApiError(
        403,
        `Quota 'CPUS' exceeded.  Limit: ${state.cpuQuota.toFixed(1)} in region ${zone.region}.`,
        'QUOTA_EXCEEDED',
      );
    if (state.instanceMap.has(instanceKey(zone.name, name)))
      throw alreadyExists(`projects/${P}/zones/${zone.name}/instances/${name}`);
    const ip = state.allocateIp();
    if (ip === undefined)
      throw new ApiError(
        400,
        `IP space of '${state.subnetCidr}' is exhausted.`,
        'IP_SPACE_EXHAUSTED',
      );
    for (const disk of newDisks) state.disks.set(instanceKey(zone.name, disk.name), disk);
    const instance: Instance = {
      kind: 'compute#instance',
      id: instanceId,
      creationTimestamp: nowRfc3339(),
      name,
      description: String(body.description ?? ''),
      tags: { items: (body.tags?.items as string[] | undefined) ?? [], fingerprint: fingerprint() },
      machineType: `${zoneUrl}/machineTypes/${type}`,
      status: 'PROVISIONING',
      zone: zoneUrl,
      canIpForward: Boolean(body.canIpForward),
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          network: `${state.projectUrl()}/global/networks/${networkName}`,
          subnetwork: `${state.projectUrl()}/regions/${zone.region}/subnetworks/${networkName}`,
          networkIP: ipString(ip),
          name: 'nic0',
          fingerprint: fingerprint(),
          stackType: 'IPV4_ONLY',
          ...(nics[0]?.accessConfigs
            ? {
                accessConfigs: (nics[0].accessConfigs as Json[]).map((a) => ({
                  kind: 'compute#accessConfig',
                  type: a.type ?? 'ONE_TO_ONE_NAT',
                  name: a.name ?? 'External NAT',
                  networkTier: 'PREMIUM',
                })),
              }
            : {}),
        },
      ],
      disks: attached.map((d, index) => {
        const diskName = d.source
          ? lastSegment(d.source)
          : String(d.initializeParams?.diskName ?? (index === 0 ? name : `${name}-${index}`));
        const disk = state.disks.get(instanceKey(zone.name, diskName))!;
        if (d.source) (disk.users as string[]).push(link);
        return {
          kind: 'compute#attachedDisk',
          type: 'PERSISTENT',
          mode: 'READ_WRITE',
          source: disk.selfLink,
          deviceName: String(d.deviceName ?? `persistent-disk-${index}`),
          index,
          boot: d === boot,
          autoDelete: d.source ? Boolean(d.autoDelete) : (d.autoDelete ?? true),
          interface: 'SCSI',
          diskSizeGb: disk.sizeGb,
        };
      }),
      metadata,
      serviceAccounts,
      selfLink: link,
      scheduling: {
        onHostMaintenance: spot ? 'TERMINATE' : 'MIGRATE',
        automaticRestart: !spot,
        preemptible: spot,
        provisioningModel: spot ? 'SPOT' : 'STANDARD',
        ...(spot ? { instanceTerminationAction: terminationAction ?? 'STOP' } : {}),
      },
      cpuPlatform: 'Intel Cascade Lake',
      labels,
      labelFingerprint: fingerprint(),
      startRestricted: false,
      deletionProtection: false,
      fingerprint: fingerprint(),
    };
    state.instanceMap.set(instanceKey(zone.name, name), instance);
    state.serial.set(instanceId, `[    0.000000] Linux version 6.1.0-27-cloud-amd64 (fake)\r\n`);
    state.emit('instance-status', state.view(instance));
    state.later(state.tickMs, () => {
      for (const disk of newDisks) disk.status = 'READY';
      if (instance.deleting) return finish();
      state.setStatus(instance, 'STAGING');
      state.later(state.tickMs, () => {
        if (!instance.deleting) {
          state.setStatus(instance, 'RUNNING');
          state.later(state.tickMs, () => state.bootConsole(instance));
        }
        finish();
      });
    });
  });
  return op;
}

/** A collection of plain resources (disks, networks, firewalls): list, insert, get, delete. */
interface Collection {
  /** The list's `kind`, e.g. `compute#networkList`. */
  listKind: string;
  /** The operations' scope: `global` or a zone's name. */
  scope: string;
  store: Map<string, Resource>;
  /** The store's key of a name (disks are keyed `zone/name`). */
  key(name: string): string;
  /** `projects/P/…/NAME`, for 404 and 409 messages. */
  path(name: string): string;
  /** What a bad name is told. */
  nameRule: string;
  /** The collection's resources in list order. */
  items(): Resource[];
  /** Checks an insert body and makes the resource (stored when its operation runs). */
  create(name: string, body: Json): Resource;
  /** Runs in the insert's operation, after the resource is stored. */
  created?(resource: Resource): void;
  /** Throws while the resource cannot be deleted (in use). */
  checkDelete?(resource: Resource): void;
  /** What GET and list show of a resource (default: all of it). */
  show?(resource: Resource): Json;
}

function collection(
  state: FakeState,
  c: Collection,
  method: string,
  name: string | undefined,
  body: Json,
  list: (kind: string, items: Json[]) => [number, Json],
): [number, Json] {
  const show = c.show ?? ((r: Resource) => r);
  if (name === undefined && method === 'GET') return list(c.listKind, c.items().map(show));
  if (name === undefined && method === 'POST') {
    const newName = String(body.name ?? '');
    if (!NAME_RE.test(newName)) throw invalid('resource.name', newName, c.nameRule);
    if (c.store.has(c.key(newName))) throw alreadyExists(c.path(newName));
    const resource = c.create(newName, body);
    return [
      200,
      state.operation(c.scope, 'insert', resource.selfLink, resource.id, (finish) => {
        c.store.set(c.key(newName), resource);
        c.created?.(resource);
        finish();
      }),
    ];
  }
  const resource = c.store.get(c.key(name!));
  if (!resource) throw notFound(c.path(name!));
  if (method === 'GET') return [200, show(resource)];
  if (method === 'DELETE') {
    c.checkDelete?.(resource);
    return [
      200,
      state.operation(c.scope, 'delete', resource.selfLink, resource.id, (finish) => {
        c.store.delete(c.key(name!));
        finish();
      }),
    ];
  }
  throw notFound(c.path(name!));
}

function inUse(kind: string, path: string, user: string): ApiError {
  return new ApiError(
    400,
    `The ${kind} resource '${path}' is already being used by '${user.replace(`${BASE}/`, '')}'`,
    'resourceInUseByAnotherResource',
  );
}

const byName = (a: Resource, b: Resource) => a.name.localeCompare(b.name);

/** A disk as the API shows it (without the fake's own attachment fields). */
function shownDisk({ autoDelete: _a, boot: _b, ...disk }: Resource): Json {
  return disk;
}

function disks(state: FakeState, zone: FakeZone): Collection {
  const P = state.project;
  const zoneUrl = `${state.projectUrl()}/zones/${zone.name}`;
  return {
    listKind: 'compute#diskList',
    scope: zone.name,
    store: state.disks,
    key: (name) => instanceKey(zone.name, name),
    path: (name) => `projects/${P}/zones/${zone.name}/disks/${name}`,
    nameRule: 'Bad name.',
    items: () =>
      [...state.disks.values()].filter((d) => lastSegment(d.zone) === zone.name).sort(byName),
    show: shownDisk,
    create(diskName, body) {
      const image = body.sourceImage ? state.resolveImage(String(body.sourceImage)) : undefined;
      return {
        kind: 'compute#disk',
        id: state.newId(),
        name: diskName,
        sizeGb: String(body.sizeGb ?? image?.diskSizeGb ?? '500'),
        zone: zoneUrl,
        status: 'CREATING',
        type: `${zoneUrl}/diskTypes/${lastSegment(String(body.type ?? 'pd-standard'))}`,
        ...(image ? { sourceImage: imageResource(image).selfLink } : {}),
        labels: checkLabels('resource.labels', body.labels),
        labelFingerprint: fingerprint(),
        users: [],
        creationTimestamp: nowRfc3339(),
        selfLink: `${zoneUrl}/disks/${diskName}`,
      };
    },
    created: (disk) => (disk.status = 'READY'),
    checkDelete(disk) {
      const users = disk.users as string[];
      if (users.length) throw inUse('disk', disk.selfLink.replace(`${BASE}/`, ''), users[0]!);
    },
  };
}

function networks(state: FakeState): Collection {
  const P = state.project;
  return {
    listKind: 'compute#networkList',
    scope: 'global',
    store: state.networks,
    key: (name) => name,
    path: (name) => `projects/${P}/global/networks/${name}`,
    nameRule: 'Bad name.',
    items: () => [...state.networks.values()],
    create: (netName, body) => ({
      kind: 'compute#network',
      id: state.newId(),
      name: netName,
      description: String(body.description ?? ''),
      autoCreateSubnetworks: body.autoCreateSubnetworks ?? true,
      creationTimestamp: nowRfc3339(),
      selfLink: `${state.projectUrl()}/global/networks/${netName}`,
    }),
    checkDelete(network) {
      const firewall = [...state.firewalls.values()].find(
        (f) => lastSegment(f.network) === network.name,
      );
      const instance = [...state.instanceMap.values()].find(
        (i) => lastSegment(i.networkInterfaces[0].network) === network.name,
      );
      const user = firewall?.selfLink ?? instance?.selfLink;
      if (user) throw inUse('network', `projects/${P}/global/networks/${network.name}`, user);
    },
  };
}

function firewalls(state: FakeState): Collection {
  const P = state.project;
  return {
    listKind: 'compute#firewallList',
    scope: 'global',
    store: state.firewalls,
    key: (name) => name,
    path: (name) => `projects/${P}/global/firewalls/${name}`,
    nameRule: "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
    items: () => [...state.firewalls.values()].sort(byName),
    create(fwName, body) {
      const networkName = lastSegment(String(body.network ?? 'global/networks/default'));
      if (!state.networks.has(networkName))
        throw notFound(`projects/${P}/global/networks/${networkName}`);
      if (!body.allowed?.length && !body.denied?.length)
        throw new ApiError(
          400,
          "Invalid value for field 'resource.allowed': ''. Must specify at least one of allowed or denied.",
          'invalid',
        );
      const direction = body.direction ?? 'INGRESS';
      return {
        kind: 'compute#firewall',
        id: state.newId(),
        name: fwName,
        description: String(body.description ?? ''),
        network: `${state.projectUrl()}/global/networks/${networkName}`,
        priority: body.priority ?? 1000,
        direction,
        ...(direction === 'INGRESS'
          ? { sourceRanges: body.sourceRanges ?? (body.sourceTags ? undefined : ['0.0.0.0/0']) }
          : {}),
        ...(body.sourceTags ? { sourceTags: body.sourceTags } : {}),
        ...(body.targetTags ? { targetTags: body.targetTags } : {}),
        ...(body.allowed ? { allowed: body.allowed } : {}),
        ...(body.denied ? { denied: body.denied } : {}),
        disabled: Boolean(body.disabled),
        creationTimestamp: nowRfc3339(),
        selfLink: `${state.projectUrl()}/global/firewalls/${fwName}`,
      };
    },
  };
}

/**
 * `aggregated/instances` and `aggregated/disks`: every zone's matching resources under
 * `zones/ZONE`, or the `NO_RESULTS_ON_PAGE` warning for a zone without any (one page).
 */
function aggregated(
  state: FakeState,
  collectionName: 'instances' | 'disks',
  query: URLSearchParams,
): Json {
  const predicate = compileFilter(query.get('filter') ?? undefined);
  const all =
    collectionName === 'instances'
      ? [...state.instanceMap.values()]
      : [...state.disks.values()].map(shownDisk);
  const items: Json = {};
  for (const zone of state.zones.keys()) {
    const found = all.filter((r) => lastSegment(String(r.zone)) === zone && predicate(r));
    items[`zones/${zone}`] = found.length
      ? { [collectionName]: found }
      : {
          warning: {
            code: 'NO_RESULTS_ON_PAGE',
            message: `There are no results for scope 'zones/${zone}' on this page.`,
            data: [{ key: 'scope', value: `zones/${zone}` }],
          },
        };
  }
  const singular = collectionName === 'instances' ? 'instance' : 'disk';
  return {
    kind: `compute#${singular}AggregatedList`,
    id: `projects/${state.project}/aggregated/${collectionName}`,
    items,
  };
}

async function operations(
  state: FakeState,
  scope: string,
  method: string,
  name: string | undefined,
  verb: string | undefined,
  list: (kind: string, items: Json[]) => [number, Json],
): Promise<[number, Json]> {
  if (name === undefined && method === 'GET')
    return list(
      'compute#operationList',
      [...state.operations.entries()]
        .filter(([k]) => k.startsWith(`${scope}/`))
        .map(([, op]) => op),
    );
  const op = state.findOperation(scope, name!);
  if (verb === 'wait' && method === 'POST') {
    await state.waitDone(scope, op);
    return [200, op];
  }
  if (verb === undefined && method === 'GET') return [200, op];
  if (verb === undefined && method === 'DELETE') {
    state.operations.delete(`${scope}/${op.name}`);
    return [204, {}];
  }
  throw notFound(`${op.selfLink}/${verb}`);
}

function send(res: ServerResponse, status: number, body: Json): void {
  const text = status === 204 ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(text);
}

async function handle(state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const raw = await readBody(req);
  const method = req.method ?? 'GET';

  // STS token exchange (external_account credentials' token_url)
  if (url.pathname === '/v1/token' && method === 'POST') {
    const form = new URLSearchParams(raw);
    if (!form.get('subject_token'))
      return send(res, 400, {
        error: 'invalid_request',
        error_description: 'subject_token is required',
      });
    const token = `fake-${randomBytes(12).toString('hex')}`;
    state.tokens.add(token);
    return send(res, 200, {
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
    });
  }
  const authorised = state.tokens.has((req.headers.authorization ?? '').replace(/^Bearer\s+/i, ''));
  const unauthenticated = () =>
    send(res, 401, {
      error: {
        code: 401,
        message:
          'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        errors: [
          {
            message: 'Login Required.',
            domain: 'global',
            reason: 'required',
            location: 'Authorization',
            locationType: 'header',
          },
        ],
        status: 'UNAUTHENTICATED',
      },
    });
  // Resource Manager project lookup (external_account credentials' cloud_resource_manager_url)
  const crm = /^\/v1\/projects\/([^/]+)$/.exec(url.pathname);
  if (crm && method === 'GET') {
    if (!authorised) return unauthenticated();
    if (crm[1] !== state.projectNumber && crm[1] !== state.project)
      return send(res, 403, {
        error: {
          code: 403,
          message: 'The caller does not have permission',
          status: 'PERMISSION_DENIED',
        },
      });
    return send(res, 200, {
      projectNumber: state.projectNumber,
      projectId: state.project,
      lifecycleState: 'ACTIVE',
      name: state.project,
    });
  }

  // Cloud Billing Catalog (cloudbilling.googleapis.com): Compute Engine's SKUs and prices.
  const billing = billingCatalogAnswer(
    url.pathname,
    url.searchParams,
    method,
    [...state.zones.values()].map((z) => z.region),
  );
  if (billing) return authorised ? send(res, billing[0], billing[1] as Json) : unauthenticated();

  const m = /^\/compute\/v1\/projects\/([^/]+)\/(.*)$/.exec(url.pathname);
  if (!m) return send(res, 404, notFound(url.pathname).body());
  if (!authorised) return unauthenticated();
  state.requestCount++;
  const [, project, rest] = m as unknown as [string, string, string];
  const fault = state.faults.find(
    (f) => (!f.method || f.method === method) && (!f.path || f.path.test(rest)),
  );
  if (fault) {
    fault.count = (fault.count ?? 1) - 1;
    if (fault.count <= 0) state.faults.splice(state.faults.indexOf(fault), 1);
    const status = fault.status ?? 503;
    const error =
      status === 429
        ? new ApiError(429, 'Rate Limit Exceeded', 'rateLimitExceeded', 'usageLimits')
        : new ApiError(
            status,
            'Internal error. Please try again or contact Google Support.',
            'backendError',
          );
    return send(res, status, error.body());
  }
  let body: Json = {};
  if (raw) {
    try {
      body = JSON.parse(raw) as Json;
    } catch {
      return send(
        res,
        400,
        new ApiError(400, 'Invalid JSON payload received.', 'parseError').body(),
      );
    }
  }
  const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (project !== state.project) {
      // public image projects
      if (
        parts[0] === 'global' &&
        parts[1] === 'images' &&
        IMAGES.some((i) => i.project === project)
      ) {
        if (method !== 'GET')
          throw new ApiError(403, 'Required permission is missing.', 'forbidden');
        if (parts[2] === undefined)
          return send(res, 200, {
            kind: 'compute#imageList',
            ...paginate(
              IMAGES.filter((i) => i.project === project)
                .map(imageResource)
                .filter(compileFilter(url.searchParams.get('filter') ?? undefined)),
              url.searchParams,
            ),
          });
        const image =
          parts[2] === 'family'
            ? newestInFamily(project, parts[3] ?? '')
            : IMAGES.find((i) => i.project === project && i.name === parts[2]);
        if (!image) throw notFound(`projects/${project}/global/images/${parts.slice(2).join('/')}`);
        return send(res, 200, imageResource(image));
      }
      throw notFound(`projects/${project}`);
    }
    const [status, answer] = await route(state, method, parts, url.searchParams, body);
    send(res, status, answer);
  } catch (e) {
    if (e instanceof ApiError) return send(res, e.status, e.body());
    send(res, 500, new ApiError(500, String((e as Error).message), 'backendError').body());
  }
}

/**
 * Starts the fake on 127.0.0.1 with a free port. Stop it with {@link GceFake.stop}.
 *
 * Events (for the simulated cloud): `instance-status` ({@link FakeInstanceView}, on every
 * lifecycle step), `instance-metadata` (after setMetadata), `instance-deleted`.
 */
export async function startGceFake(options: GceFakeOptions = {}): Promise<GceFake> {
  const state = new FakeState(options);
  const servers: Server[] = [];
  const listen = (host: string, wanted: number) =>
    new Promise<number>((resolve, reject) => {
      const server = createServer((req, res) => {
        handle(state, req, res).catch((e: unknown) => {
          if (!res.headersSent) send(res, 500, { error: { code: 500, message: String(e) } });
        });
      });
      server.once('error', reject);
      server.listen(wanted, host, () => {
        servers.push(server);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  const port = await listen('127.0.0.1', 0);
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = (at: string, subjectTokenPath: string) => ({
    json: JSON.stringify(
      {
        type: 'external_account',
        audience: `//iam.googleapis.com/projects/${state.projectNumber}/locations/global/workloadIdentityPools/toil-test/providers/fake`,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${at}/v1/token`,
        cloud_resource_manager_url: `${at}/v1/projects/`,
        credential_source: { file: subjectTokenPath },
      },
      null,
      2,
    ),
    subjectToken: `subject-${randomBytes(8).toString('hex')}`,
  });
  const fake = Object.assign(state, {
    endpoint,
    port,
    credentials,
    async listenAlso(host: string): Promise<string> {
      return `http://${host}:${await listen(host, port)}`;
    },
    writeCredentials(dir: string): Record<string, string> {
      mkdirSync(dir, { recursive: true });
      const subject = join(dir, 'subject-token');
      const file = join(dir, 'credentials.json');
      const { json, subjectToken } = credentials(endpoint, subject);
      writeFileSync(subject, subjectToken, { mode: 0o600 });
      writeFileSync(file, json, { mode: 0o600 });
      const gcloud = join(dir, 'gcloud');
      mkdirSync(gcloud, { recursive: true });
      return {
        GOOGLE_APPLICATION_CREDENTIALS: file,
        METADATA_SERVER_DETECTION: 'none',
        CLOUDSDK_CONFIG: gcloud,
      };
    },
    instances(): FakeInstanceView[] {
      return [...state.instanceMap.values()].map((i) => state.view(i));
    },
    appendSerialOutput(zone: string, name: string, text: string): void {
      const instance = getInstance(state, zone, name);
      state.serial.set(instance.id, (state.serial.get(instance.id) ?? '') + text);
    },
    preempt(zone: string, name: string): void {
      const instance = getInstance(state, zone, name);
      if (instance.status === 'TERMINATED' || instance.deleting) return;
      state.setStatus(instance, 'STOPPING');
      state.later(state.tickMs, () => {
        state.setStatus(instance, 'TERMINATED');
        // A Spot VM created with instanceTerminationAction DELETE is deleted when preempted.
        if (instance.scheduling.instanceTerminationAction === 'DELETE') {
          instance.deleting = true;
          state.removeInstance(instance);
        }
      });
    },
    setCpuQuota(limit: number): void {
      state.cpuQuota = limit;
    },
    injectFault(fault: InjectedFault): void {
      state.faults.push({ ...fault, count: fault.count ?? 1 });
    },
    inventory() {
      return {
        instances: [...state.instanceMap.keys()],
        disks: [...state.disks.keys()],
        firewalls: [...state.firewalls.keys()],
        networks: [...state.networks.keys()].filter((n) => n !== 'default'),
      };
    },
    async stop(): Promise<void> {
      state.close();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  });
  return fake as unknown as GceFake;
}
