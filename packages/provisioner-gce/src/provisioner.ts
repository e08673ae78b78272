import { randomBytes } from 'node:crypto';
import { startSpan, ToilError, type IoHost } from '@toil/core';
import {
  addNodesStage2,
  autoscaleConfigFor,
  formatNodeType,
  joinAddedNodes,
  launchStage2,
  countNodeCost,
  countNodeHours,
  parseHostKeyFingerprints,
  sshStage2Runner,
  renderStage1UserData,
  SLURM_NODE_TAG,
  type AddNodesOptions,
  type ClusterNode,
  type ClusterResource,
  type ClusterSpec,
  type ClusterSummary,
  type DestroyOptions,
  type DestroyReport,
  type HourlyPrice,
  type NodeLifetime,
  type LaunchResult,
  type Provisioner,
  type ProvisionerConfig,
  type Stage2Runner,
  type WorkerNodeType,
} from '@toil/provisioner';
import { ApiCaller, connect, gceError, toToilError, type GceConnection } from './api.js';
import { GcePrices } from './prices.js';
import {
  CLUSTER_LABEL,
  HOST_KEYS_METADATA_KEY,
  NODE_LIFETIMES_METADATA_KEY,
  ROLE_LABEL,
  SSH_USER_LABEL,
  TAGS_METADATA_KEY,
  clusterLabels,
  formatNodeLifetimes,
  nodeFromInstance,
  nodeLifetimes,
} from './labels.js';

/** The image family nodes boot from unless `TOIL_GCE_IMAGE_FAMILY` names another. */
export const DEFAULT_IMAGE_FAMILY = 'ubuntu-os-cloud/ubuntu-2204-lts';

/** How long each launch phase may take, in ms (overridable for slow clouds). */
export interface GcePhaseTimeouts {
  /** An insert or delete operation until DONE. */
  operation: number;
  /** An instance until RUNNING. */
  running: number;
  /** Stage 1 until the host keys are on the console. */
  hostKeys: number;
}

const DEFAULT_TIMEOUTS: GcePhaseTimeouts = {
  operation: 300_000,
  running: 300_000,
  hostKeys: 600_000,
};

/** What the GCE provisioner is made from. */
export interface GceProvisionerOptions extends ProvisionerConfig {
  /** Overrides of the phase timeouts. */
  timeouts?: Partial<GcePhaseTimeouts>;
  /** Runs stage 2 of the bootstrap (default: `runStage2` over `@toil/cluster-ssh`). */
  stage2?: Stage2Runner;
}

const AWS_TYPE = /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal)$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every promise settled (so none is left running), then throws the first failure. */
async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find(
    (r): r is PromiseRejectedResult => r.status === 'rejected',
  );
  if (failed) throw failed.reason;
}

/** The scope of the leader's service account when it starts nodes (elastic groups). */
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** A machine type's size as the zone lists it. */
interface MachineSize {
  cpus: number;
  memoryMb: number;
}

/** The last line of the host-key block cloud-init prints on the serial console. */
const FINGERPRINTS_END = '-----END SSH HOST KEY FINGERPRINTS-----';

function closest(name: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return d[b.length]!;
  };
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = distance(name, c);
    if (dist < bestDistance) [best, bestDistance] = [c, dist];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** The firewall rules of a cluster: SSH from `--sshCidr`, everything between its nodes. */
export function firewallNames(clusterName: string): { ssh: string; internal: string } {
  return { ssh: `toil-${clusterName}-ssh`, internal: `toil-${clusterName}-int` };
}

/** The network tag on every node of a cluster, which its firewall rules target. */
export function networkTag(clusterName: string): string {
  return `toil-${clusterName}`;
}

/**
 * The Compute Engine provisioner (`--provisioner gce`). Clusters are found by the
 * `toil-cluster` label on instances and disks and by the names of their firewall rules,
 * never by a local file.
 */
export class GceProvisioner implements Provisioner {
  readonly name = 'gce';
  readonly zone: string;
  private readonly host: IoHost;
  private readonly env: NodeJS.ProcessEnv;
  private readonly project?: string;
  private readonly timeouts: GcePhaseTimeouts;
  private readonly api = new ApiCaller();
  private readonly stage2: Stage2Runner;
  private connection?: Promise<GceConnection>;
  private prices?: GcePrices;

  constructor(config: GceProvisionerOptions) {
    if (!config.zone)
      throw new ToilError(
        'ZONE_MISSING',
        'Please provide a value for --zone or set a default in the TOIL_GCE_ZONE environment variable.',
        { hint: 'For example: --zone us-west1-a' },
      );
    this.zone = config.zone;
    this.host = config.host;
    this.env = config.env ?? process.env;
    this.project = config.project;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
    // cluster-ssh is loaded only when stage 2 runs: list and destroy need no SSH library.
    this.stage2 =
      config.stage2 ??
      sshStage2Runner(config.host, async (credentials) =>
        (await import('@toil/cluster-ssh')).nodeConnector(credentials),
      );
  }

  private emit(
    level: 'info' | 'warning' | 'debug',
    code: string,
    message: string,
    data?: Record<string, unknown>,
  ) {
    this.host.emit({
      code,
      level,
      message,
      data,
      time: Date.now(),
      source: 'toil.provisioner.gce',
    });
  }

  /** The command-line options that name this provisioner, zone and project, for hints. */
  private options(): string {
    return `--provisioner gce --zone ${this.zone}${this.project ? ` --project ${this.project}` : ''}`;
  }

  /**
   * A machine type's hourly price from the Cloud Billing Catalog API (at
   * `TOIL_GCE_BILLING_ENDPOINT`, else at `TOIL_GCE_ENDPOINT` when that is set, like
   * `AWS_ENDPOINT_URL` for every AWS service): its vCPUs and memory at the region's prices.
   */
  async hourlyPrice(
    nodeType: string,
    options: { spot: boolean; zone?: string },
  ): Promise<HourlyPrice> {
    const zone = options.zone ?? this.zone;
    let type: { guestCpus?: number; memoryMb?: number } | undefined;
    try {
      [type] = await this.call('machineTypes.get', `Reading machine type ${nodeType}`, (c) =>
        c.clients.machineTypes.get({ project: c.project, zone, machineType: nodeType }),
      );
    } catch (error) {
      return { noPrice: (error as Error).message };
    }
    if (!type?.guestCpus)
      return { noPrice: `Compute Engine does not describe machine type ${nodeType} in ${zone}` };
    const c = await this.conn();
    this.prices ??= new GcePrices(
      c.get,
      this.env.TOIL_GCE_BILLING_ENDPOINT || this.env.TOIL_GCE_ENDPOINT || undefined,
    );
    return this.prices.hourlyPrice(
      nodeType,
      { cpus: Number(type.guestCpus), memoryMb: Number(type.memoryMb) },
      zone.replace(/-[a-z]$/, ''),
      options.spot,
    );
  }

  private conn(): Promise<GceConnection> {
    this.connection ??= connect(this.env, this.project);
    return this.connection;
  }

  /**
   * One API call through the retrying caller; errors become ToilErrors saying `what` failed,
   * except a 404 when `missing` is set, which resolves `undefined`.
   */
  private async call(
    name: string,
    what: string,
    fn: (c: GceConnection) => Promise<any>,
    options: { missing?: boolean } = {},
  ): Promise<any> {
    const c = await this.conn();
    try {
      return await this.api.call(name, () => fn(c));
    } catch (error) {
      if (options.missing && gceError(error).status === 404) return undefined;
      throw toToilError(error, what);
    }
  }

  /** Like {@link call}, but resolves `undefined` for a 404. */
  private callOrMissing(
    name: string,
    what: string,
    fn: (c: GceConnection) => Promise<any>,
  ): Promise<any> {
    return this.call(name, what, fn, { missing: true });
  }

  /** Waits for an operation to be DONE (phase named in the timeout), throwing its error. */
  private async waitOperation(operation: any, phase: string, zone?: string): Promise<void> {
    const name = operation?.latestResponse?.name ?? operation?.name;
    const deadline = Date.now() + this.timeouts.operation;
    for (;;) {
      const [op] = await this.call('operations.wait', phase, (c) =>
        zone
          ? c.clients.zoneOperations.wait({ project: c.project, zone, operation: name })
          : c.clients.globalOperations.wait({ project: c.project, operation: name }),
      );
      if (op.status === 'DONE') {
        const error = op.error?.errors?.[0];
        if (error)
          throw new ToilError(
            'LAUNCH_FAILED',
            `${phase} failed: ${error.message} (${error.code})`,
            {
              hint:
                error.code === 'QUOTA_EXCEEDED'
                  ? 'Ask for more quota, use smaller machine types or fewer workers, or another region.'
                  : 'See the message; run again with --logLevel debug for details.',
              data: { code: error.code, phase },
            },
          );
        return;
      }
      if (Date.now() > deadline)
        throw new ToilError(
          'LAUNCH_FAILED',
          `Timed out ${phase} after ${Math.round(this.timeouts.operation / 1000)} s.`,
          {
            hint: 'Compute Engine may be slow or the zone short of capacity; try again or another zone.',
            data: { phase, operation: name },
          },
        );
    }
  }

  /** Instances with the cluster's label in every zone (any state). */
  private clusterInstances(clusterName: string): Promise<any[]> {
    return this.aggregated('instances', `labels.${CLUSTER_LABEL}=${clusterName}`);
  }

  /** Every zone's instances or disks that match `filter` (`aggregatedList`). */
  private aggregated(kind: 'instances' | 'disks', filter: string): Promise<any[]> {
    // aggregatedListAsync follows nextPageToken itself; one count per page is not known, so
    // the whole listing counts as one call (retried as a whole).
    return this.call(`${kind}.aggregatedList`, `listing ${kind}`, async (c) => {
      const out: any[] = [];
      const pages = c.clients[kind].aggregatedListAsync(
        { project: c.project, filter, maxResults: 500 },
        { autoPaginate: false },
      );
      for await (const [, scoped] of pages) out.push(...(scoped?.[kind] ?? []));
      return out;
    });
  }

  private async listAll(
    name: string,
    what: string,
    fn: (c: GceConnection, pageToken?: string) => Promise<any>,
  ): Promise<any[]> {
    const out: any[] = [];
    let pageToken: string | undefined;
    do {
      const [items, , response] = await this.call(name, what, (c) => fn(c, pageToken));
      out.push(...(items ?? []));
      pageToken = response?.nextPageToken || undefined;
    } while (pageToken);
    return out;
  }

  private async clusterFirewalls(clusterName: string): Promise<any[]> {
    const names = firewallNames(clusterName);
    return this.listAll('firewalls.list', 'listing firewall rules', (c, pageToken) =>
      c.clients.firewalls.list(
        {
          project: c.project,
          filter: `name eq ${names.ssh}|${names.internal}`,
          maxResults: 500,
          ...(pageToken ? { pageToken } : {}),
        },
        { autoPaginate: false },
      ),
    );
  }

  /** Disks with the cluster's label in every zone. */
  private clusterDisks(clusterName: string): Promise<any[]> {
    return this.aggregated('disks', `labels.${CLUSTER_LABEL}=${clusterName}`);
  }

  /**
   * Checks machine types against the zone's own list (AWS names get Toil's error) and returns
   * the size of each.
   */
  private async checkMachineTypes(types: string[]): Promise<Map<string, MachineSize>> {
    for (const type of types)
      if (AWS_TYPE.test(type))
        throw new ToilError(
          'NODE_TYPE_INVALID',
          "It looks like you've specified an AWS nodeType with the gce provisioner. Please specify a nodeType for gce.",
          {
            hint: 'For example --leaderNodeType e2-standard-2 --nodeTypes e2-standard-4',
            data: { nodeType: type },
          },
        );
    const zone = await this.callOrMissing('zones.get', `looking up zone ${this.zone}`, (c) =>
      c.clients.zones.get({ project: c.project, zone: this.zone }),
    );
    if (!zone)
      throw new ToilError('ZONE_INVALID', `The zone ${this.zone} does not exist in this project.`, {
        hint: 'Give a Compute Engine zone such as us-west1-a (gcloud compute zones list).',
      });
    const listed = await this.listAll(
      'machineTypes.list',
      `listing machine types of ${this.zone}`,
      (c, pageToken) =>
        c.clients.machineTypes.list(
          {
            project: c.project,
            zone: this.zone,
            maxResults: 500,
            ...(pageToken ? { pageToken } : {}),
          },
          { autoPaginate: false },
        ),
    );
    const available = listed.map((t) => String(t.name));
    for (const type of types)
      if (!available.includes(type)) {
        const suggestion = closest(type, available);
        throw new ToilError(
          'NODE_TYPE_INVALID',
          `Invalid machine type (${type}) specified for GCE in zone: ${this.zone}.${suggestion ? ` Did you mean ${suggestion}?` : ''}`,
          {
            hint: `See the zone's machine types: gcloud compute machine-types list --zones ${this.zone}`,
            data: { nodeType: type },
          },
        );
      }
    return new Map(
      listed.map((t) => [
        String(t.name),
        { cpus: Number(t.guestCpus ?? 1), memoryMb: Number(t.memoryMb ?? 1024) },
      ]),
    );
  }

  /** The image URL nodes boot from: the newest image of the family (never a fixed name). */
  private async resolveImage(): Promise<string> {
    const family = this.env.TOIL_GCE_IMAGE_FAMILY || DEFAULT_IMAGE_FAMILY;
    const [project, name] = family.split('/');
    if (!project || !name)
      throw new ToilError(
        'INVALID_ARGUMENT',
        `TOIL_GCE_IMAGE_FAMILY must be PROJECT/FAMILY, not ${family}.`,
        {
          hint: `For example ${DEFAULT_IMAGE_FAMILY}`,
        },
      );
    const image = await this.callOrMissing(
      'images.getFromFamily',
      `resolving image family ${family}`,
      (c) => c.clients.images.getFromFamily({ project, family: name }),
    );
    if (!image)
      throw new ToilError('LAUNCH_FAILED', `The image family ${family} has no image.`, {
        hint: 'Set TOIL_GCE_IMAGE_FAMILY to an existing PROJECT/FAMILY (gcloud compute images list).',
      });
    return String(image[0].selfLink);
  }

  private instanceBody(
    spec: ClusterSpec,
    name: string,
    role: 'leader' | 'worker',
    machineType: string,
    preemptible: boolean,
    storageGb: number,
    image: string,
    extra: { uid?: number; startsNodes?: boolean } = {},
  ): Record<string, unknown> {
    const labels = {
      ...clusterLabels(spec.clusterName, spec.tags),
      [ROLE_LABEL]: role,
      [SSH_USER_LABEL]: spec.sshUser,
    };
    return {
      name,
      machineType: `zones/${this.zone}/machineTypes/${machineType}`,
      labels,
      tags: { items: [networkTag(spec.clusterName)] },
      metadata: {
        items: [
          {
            key: 'user-data',
            value: renderStage1UserData({
              sshUser: spec.sshUser,
              sshPublicKey: spec.sshPublicKey,
              clusterName: spec.clusterName,
              ...(extra.uid === undefined ? {} : { uid: extra.uid }),
            }),
          },
          { key: 'ssh-keys', value: `${spec.sshUser}:${spec.sshPublicKey}` },
          { key: TAGS_METADATA_KEY, value: JSON.stringify({ ...spec.tags, ToilNodeType: role }) },
        ],
      },
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: {
            sourceImage: image,
            diskSizeGb: storageGb,
            labels: clusterLabels(spec.clusterName, spec.tags),
          },
        },
      ],
      networkInterfaces: [
        {
          network: `global/networks/${spec.network ?? 'default'}`,
          ...(spec.subnet
            ? {
                subnetwork: `regions/${this.zone.replace(/-[a-z]$/, '')}/subnetworks/${spec.subnet}`,
              }
            : {}),
          ...(spec.externalAddress
            ? { accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }] }
            : {}),
        },
      ],
      // A leader that starts nodes calls the API as its VM's service account (the metadata
      // server, through the default credentials chain): the project's default account.
      ...(extra.startsNodes
        ? { serviceAccounts: [{ email: 'default', scopes: [CLOUD_PLATFORM_SCOPE] }] }
        : {}),
      scheduling: preemptible
        ? {
            preemptible: true,
            automaticRestart: false,
            onHostMaintenance: 'TERMINATE',
            provisioningModel: 'SPOT',
            // Preempted, it is gone (as a spot instance on EC2), so Slurm's node can start again.
            instanceTerminationAction: 'DELETE',
          }
        : { preemptible: false },
    };
  }

  /** Inserts instances, waits for RUNNING and for stage 1's host keys, and pins them. */
  private async startInstances(
    bodies: Record<string, unknown>[],
    phase: string,
  ): Promise<ClusterNode[]> {
    const ops = await Promise.all(
      bodies.map((body) =>
        this.call('instances.insert', `${phase}: creating ${String(body.name)}`, (c) =>
          c.clients.instances.insert({
            project: c.project,
            zone: this.zone,
            instanceResource: body,
          }),
        ).then(([op]: any) => op),
      ),
    );
    await settleAll(
      ops.map((op, i) =>
        this.waitOperation(op, `${phase}: creating ${String(bodies[i]!.name)}`, this.zone),
      ),
    );
    return Promise.all(bodies.map((body) => this.waitReady(String(body.name), phase)));
  }

  private async getInstance(name: string): Promise<any | undefined> {
    const found = await this.callOrMissing('instances.get', `reading instance ${name}`, (c) =>
      c.clients.instances.get({ project: c.project, zone: this.zone, instance: name }),
    );
    return found?.[0];
  }

  private async waitReady(name: string, phase: string): Promise<ClusterNode> {
    let deadline = Date.now() + this.timeouts.running;
    let instance = await this.getInstance(name);
    while (instance?.status !== 'RUNNING') {
      if (!instance || ['STOPPING', 'TERMINATED', 'SUSPENDED'].includes(instance.status))
        throw new ToilError(
          'LAUNCH_FAILED',
          `${phase}: instance ${name} is ${instance?.status ?? 'gone'} instead of RUNNING.`,
          {
            hint: 'A preemptible instance may have been reclaimed; destroy the cluster and launch again.',
          },
        );
      if (Date.now() > deadline)
        throw new ToilError(
          'LAUNCH_FAILED',
          `Timed out ${phase}: waiting for ${name} to be RUNNING.`,
          {
            hint: 'The zone may be short of capacity; destroy the cluster and try another zone.',
          },
        );
      await sleep(1000);
      instance = await this.getInstance(name);
    }
    deadline = Date.now() + this.timeouts.hostKeys;
    let keys: ReturnType<typeof parseHostKeyFingerprints>;
    let console: string;
    for (;;) {
      const [output] = await this.call(
        'instances.getSerialPortOutput',
        `${phase}: reading ${name}'s console`,
        (c) =>
          c.clients.instances.getSerialPortOutput({
            project: c.project,
            zone: this.zone,
            instance: name,
            port: 1,
          }),
      );
      console = String(output?.contents ?? '');
      // cloud-init's block is complete once its END line is there; earlier reads may hold half.
      keys = console.includes(FINGERPRINTS_END) ? parseHostKeyFingerprints(console) : [];
      if (keys.length > 0) break;
      if (Date.now() > deadline)
        throw new ToilError(
          'LAUNCH_FAILED',
          `Timed out ${phase}: ${name} never printed its SSH host keys on its console (stage 1).`,
          {
            hint:
              'The image must run cloud-init (TOIL_GCE_IMAGE_FAMILY); the console ends with: ' +
              console.split('\n').slice(-5).join(' | ').slice(-400),
          },
        );
      await sleep(1000);
    }
    const items = [
      ...(instance.metadata?.items ?? []).filter((i: any) => i.key !== HOST_KEYS_METADATA_KEY),
      { key: HOST_KEYS_METADATA_KEY, value: JSON.stringify(keys) },
    ];
    const [op] = await this.call(
      'instances.setMetadata',
      `${phase}: pinning ${name}'s host keys`,
      (c) =>
        c.clients.instances.setMetadata({
          project: c.project,
          zone: this.zone,
          instance: name,
          metadataResource: { fingerprint: instance.metadata?.fingerprint, items },
        }),
    );
    await this.waitOperation(op, `${phase}: pinning ${name}'s host keys`, this.zone);
    const node = nodeFromInstance({ ...instance, metadata: { items } });
    if (!node.publicAddress && instance.networkInterfaces?.[0]?.accessConfigs?.length)
      this.emit(
        'warning',
        'GCE_NO_PUBLIC_ADDRESS',
        `Compute Engine gave ${name} no external address: reach it at ${node.privateAddress} from inside its network.`,
      );
    return node;
  }

  private plan(spec: ClusterSpec): ClusterResource[] {
    const fw = firewallNames(spec.clusterName);
    return [
      { kind: 'firewall', id: fw.ssh, detail: `tcp:22 from ${spec.sshCidr}` },
      { kind: 'firewall', id: fw.internal, detail: 'all traffic between the nodes' },
      {
        kind: 'instance',
        id: `${spec.clusterName}-leader`,
        detail: `leader, ${spec.leaderNodeType}, ${spec.leaderStorageGb} GB${spec.elastic.length > 0 ? ", the project's default service account (cloud-platform scope) to start and delete nodes" : ''}`,
      },
      ...spec.workers.flatMap((w) =>
        Array.from({ length: w.count }, () => ({
          kind: 'instance',
          id: `${spec.clusterName}-w-…`,
          detail: `worker, ${formatNodeType(w)}${w.spotBid !== undefined ? ', preemptible' : ''}, ${spec.nodeStorageGb} GB`,
        })),
      ),
      ...spec.elastic.map((g) => ({
        kind: 'elastic-group',
        id: `${g.min}-${g.max} worker(s)`,
        detail: `${formatNodeType(g)}${g.spotBid === undefined ? '' : ', preemptible (Spot)'}, ${spec.nodeStorageGb} GB, started by Slurm on the leader while jobs wait, deleted after ${spec.nodeIdleSeconds} s idle`,
      })),
    ];
  }

  async launchCluster(given: ClusterSpec): Promise<LaunchResult> {
    // On GCE --keyPairName is the SSH user (as in Toil), when it is a valid login name.
    const spec = /^[a-z_][a-z0-9_-]{0,31}$/.test(given.keyPairName)
      ? { ...given, sshUser: given.keyPairName }
      : given;
    const types = [
      spec.leaderNodeType,
      ...spec.workers.flatMap((w) => w.instanceTypes),
      ...spec.elastic.flatMap((g) => g.instanceTypes.slice(0, 1)),
    ];
    const sizes = await this.checkMachineTypes([...new Set(types)]);
    const image = await this.resolveImage();
    const existing = await this.clusterInstances(spec.clusterName);
    if (existing.length > 0)
      throw new ToilError(
        'CLUSTER_EXISTS',
        `A cluster named ${spec.clusterName} already exists (${existing.length} instance(s)).`,
        {
          hint: `Choose another name, or remove it first: toil destroy-cluster ${this.options()} ${spec.clusterName}`,
        },
      );
    if (spec.dryRun)
      return {
        clusterName: spec.clusterName,
        dryRun: true,
        workers: [],
        resources: this.plan(spec),
        apiCalls: { ...this.api.calls },
      };
    for (const w of [...spec.workers, ...spec.elastic])
      if (w.spotBid !== undefined)
        this.emit(
          'warning',
          'GCE_SPOT_BID_IGNORED',
          `Compute Engine has no spot bids: the ${formatNodeType(w)} workers are preemptible (Spot) at the current price.`,
        );
      else if (w.instanceTypes.length > 1)
        this.emit(
          'warning',
          'GCE_FIRST_TYPE',
          `Compute Engine takes one machine type per group: using ${w.instanceTypes[0]} of ${w.instanceTypes.join('/')}.`,
        );
    const resources: ClusterResource[] = [];
    const stage2 = launchStage2(spec);
    // Compute Engine takes one machine type per group (the first of `a/b`).
    const autoscale = autoscaleConfigFor(
      {
        ...spec,
        elastic: spec.elastic.map((g) => ({ ...g, instanceTypes: g.instanceTypes.slice(0, 1) })),
      },
      {
        provisioner: 'gce',
        zone: this.zone,
        sizeOf: (name) => sizes.get(name) ?? { cpus: 1, memoryMb: 1024 },
      },
    );
    const withAutoscale = autoscale ? { autoscale } : {};
    const span = startSpan(this.host, 'GCE_LAUNCH', `Creating cluster ${spec.clusterName}...`, {
      source: 'toil.provisioner.gce',
    });
    try {
      const fw = firewallNames(spec.clusterName);
      const network = `global/networks/${spec.network ?? 'default'}`;
      const rules = [
        {
          name: fw.ssh,
          network,
          direction: 'INGRESS',
          allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
          sourceRanges: [spec.sshCidr],
          targetTags: [networkTag(spec.clusterName)],
          description: `toil cluster ${spec.clusterName}: SSH`,
        },
        {
          name: fw.internal,
          network,
          direction: 'INGRESS',
          allowed: [{ IPProtocol: 'tcp' }, { IPProtocol: 'udp' }, { IPProtocol: 'icmp' }],
          sourceTags: [networkTag(spec.clusterName)],
          targetTags: [networkTag(spec.clusterName)],
          description: `toil cluster ${spec.clusterName}: between its nodes`,
        },
      ];
      for (const rule of rules) {
        const [op] = await this.call(
          'firewalls.insert',
          `creating firewall rule ${rule.name}`,
          (c) => c.clients.firewalls.insert({ project: c.project, firewallResource: rule }),
        );
        await this.waitOperation(op, `creating firewall rule ${rule.name}`);
        resources.push({ kind: 'firewall', id: rule.name });
      }
      span.progress(1, 'Starting the leader');
      const [leader] = await this.startInstances(
        [
          this.instanceBody(
            spec,
            `${spec.clusterName}-leader`,
            'leader',
            spec.leaderNodeType,
            false,
            spec.leaderStorageGb,
            image,
            { startsNodes: autoscale !== undefined },
          ),
        ],
        'starting the leader',
      );
      resources.push({ kind: 'instance', id: leader!.name, detail: 'leader' });
      if (stage2) {
        span.progress(2, 'Setting the leader up over SSH');
        await this.stage2(
          { clusterName: spec.clusterName, leader: leader!, workers: [], ...withAutoscale },
          stage2,
        );
      }
      const workers: ClusterNode[] = [];
      for (const group of spec.workers) {
        span.progress(3, `Starting ${group.count} x ${formatNodeType(group)}`);
        const added = await this.launchWorkers(spec, group, group.count, spec.nodeStorageGb, image);
        workers.push(...added);
        resources.push(...added.map((w) => ({ kind: 'instance', id: w.name, detail: 'worker' })));
      }
      if (stage2 && workers.length > 0) {
        span.progress(4, 'Setting the workers up over SSH');
        await this.stage2(
          { clusterName: spec.clusterName, leader: leader!, workers, ...withAutoscale },
          stage2,
        );
      }
      span.end(`Cluster ${spec.clusterName} created.`);
      return {
        clusterName: spec.clusterName,
        dryRun: false,
        leader,
        workers,
        resources,
        apiCalls: { ...this.api.calls },
      };
    } catch (error) {
      span.end(`Launching ${spec.clusterName} failed.`, { ok: false, level: 'warning' });
      const e = ToilError.is(error) ? error : toToilError(error, 'launching the cluster');
      const code = ['CLOUD_CREDENTIALS', 'BOOTSTRAP_FAILED'].includes(e.code)
        ? e.code
        : 'LAUNCH_FAILED';
      throw new ToilError(code, e.message, {
        hint: `Whatever was created is labelled ${CLUSTER_LABEL}=${spec.clusterName}; remove it with: toil destroy-cluster ${this.options()} ${spec.clusterName}`,
        cause: error,
        data: { ...(e.data ?? {}), created: resources },
      });
    }
  }

  private async launchWorkers(
    spec: ClusterSpec,
    type: WorkerNodeType,
    count: number,
    storageGb: number,
    image: string,
    uid?: number,
  ): Promise<ClusterNode[]> {
    const preemptible = type.spotBid !== undefined;
    const bodies = Array.from({ length: count }, () =>
      this.instanceBody(
        spec,
        workerName(spec.clusterName, preemptible, spec.tags[SLURM_NODE_TAG]),
        'worker',
        type.instanceTypes[0]!,
        preemptible,
        storageGb,
        image,
        uid === undefined ? {} : { uid },
      ),
    );
    return this.startInstances(bodies, `starting ${count} worker(s)`);
  }

  async addNodes(
    clusterName: string,
    nodeType: WorkerNodeType,
    count: number,
    options: AddNodesOptions,
  ): Promise<ClusterNode[]> {
    const stage2 = addNodesStage2(options);
    const leader = await this.getLeader(clusterName);
    await this.checkMachineTypes(nodeType.instanceTypes.slice(0, 1));
    const image = await this.resolveImage();
    const [instance] = await this.call(
      'instances.get',
      `reading the leader of ${clusterName}`,
      (c) =>
        c.clients.instances.get({
          project: c.project,
          zone: leader.zone ?? this.zone,
          instance: leader.name,
        }),
    );
    const items = (instance.metadata?.items ?? []) as { key: string; value: string }[];
    const publicKey = (items.find((i) => i.key === 'ssh-keys')?.value ?? '').replace(/^[^:]*:/, '');
    const tags = JSON.parse(
      items.find((i) => i.key === TAGS_METADATA_KEY)?.value ?? '{}',
    ) as Record<string, string>;
    delete tags.ToilNodeType;
    const spec = {
      clusterName,
      tags: { ...tags, ...options.tags },
      sshUser: leader.sshUser,
      sshPublicKey: options.sshPublicKey || publicKey,
      network: String(instance.networkInterfaces?.[0]?.network ?? 'default')
        .split('/')
        .pop(),
      // Workers are reachable the way the leader is.
      externalAddress: (instance.networkInterfaces?.[0]?.accessConfigs ?? []).length > 0,
    } as ClusterSpec;
    const withBid =
      options.spotBid !== undefined ? { ...nodeType, spotBid: options.spotBid } : nodeType;
    const added = await this.launchWorkers(
      spec,
      withBid,
      count,
      options.storageGb ?? 50,
      image,
      options.sshUid,
    );
    if (stage2)
      await joinAddedNodes(
        this.stage2,
        stage2,
        { clusterName, leader, nodes: await this.listNodes(clusterName) },
        added,
      );
    return added;
  }

  async terminateNodes(clusterName: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const instances = await this.clusterInstances(clusterName);
    const byId = new Map<string, any>();
    for (const i of instances) {
      byId.set(String(i.id), i);
      byId.set(String(i.name), i);
    }
    const foreign = ids.filter((id) => !byId.has(id));
    if (foreign.length > 0)
      throw new ToilError(
        'INVALID_ARGUMENT',
        `Not nodes of cluster ${clusterName}: ${foreign.join(', ')}.`,
        {
          hint: `List the cluster's nodes with: toil list-clusters ${this.options()}`,
        },
      );
    const deleted = await this.deleteInstances(
      [...new Set(ids.map((id) => byId.get(id)))],
      'terminating nodes',
    );
    const leader = instances.find((i) => i.labels?.[ROLE_LABEL] === 'leader');
    const workers = deleted.filter((i) => i.labels?.[ROLE_LABEL] !== 'leader');
    if (leader && workers.length > 0) await this.recordLifetimes(leader, workers);
  }

  /**
   * Adds the lifetimes of deleted workers to the leader's metadata
   * ({@link NODE_LIFETIMES_METADATA_KEY}): Compute Engine forgets a deleted instance at once,
   * and destroy-cluster counts them in the cluster's node-hours. Retried when another
   * writer changed the metadata meanwhile (its fingerprint).
   */
  private async recordLifetimes(leader: any, deleted: any[]): Promise<void> {
    const ended = Math.floor(Date.now() / 1000);
    const lives = deleted.map((i) => {
      const node = nodeFromInstance(i);
      return { nodeType: node.nodeType, launched: node.launchTime, ended };
    });
    const zone = String(leader.zone).split('/').pop()!;
    for (let attempt = 1; ; attempt++) {
      try {
        const [current] = await this.call('instances.get', 'reading the leader', (c) =>
          c.clients.instances.get({ project: c.project, zone, instance: leader.name }),
        );
        const items = (current.metadata?.items ?? []) as { key: string; value: string }[];
        const value = formatNodeLifetimes([...nodeLifetimes(current), ...lives]);
        const [op] = await this.call('instances.setMetadata', 'recording node-hours', (c) =>
          c.clients.instances.setMetadata({
            project: c.project,
            zone,
            instance: leader.name,
            metadataResource: {
              fingerprint: current.metadata?.fingerprint,
              items: [
                ...items.filter((i) => i.key !== NODE_LIFETIMES_METADATA_KEY),
                { key: NODE_LIFETIMES_METADATA_KEY, value },
              ],
            },
          }),
        );
        await this.waitOperation(op, 'recording node-hours', zone);
        return;
      } catch (error) {
        const conflict = /fingerprint/i.test(String((error as Error)?.message));
        if (conflict && attempt < 8) continue;
        this.emit(
          'warning',
          'GCE_NODE_HOURS_NOT_RECORDED',
          `Could not record the node-hours of ${deleted.map((i) => String(i.name)).join(', ')} on the leader: ${(error as Error).message}`,
        );
        return;
      }
    }
  }

  /** Deletes instances and waits; resolves those whose deletion this call started. */
  private async deleteInstances(instances: any[], phase: string): Promise<any[]> {
    const ops = await Promise.all(
      instances.map(async (i) => {
        const zone = String(i.zone).split('/').pop()!;
        const c = await this.conn();
        try {
          const [op] = await this.api.call('instances.delete', () =>
            c.clients.instances.delete({ project: c.project, zone, instance: i.name }),
          );
          return { op, zone };
        } catch (error) {
          const e = gceError(error);
          if (e.status === 404 || e.reason === 'resourceNotReady') return undefined;
          throw toToilError(error, `${phase}: deleting ${i.name}`);
        }
      }),
    );
    await settleAll(
      ops.map((o) =>
        o ? this.waitOperation(o.op, `${phase}: deleting an instance`, o.zone) : Promise.resolve(),
      ),
    );
    return instances.filter((_, index) => ops[index] !== undefined);
  }

  async destroyCluster(clusterName: string, options: DestroyOptions = {}): Promise<DestroyReport> {
    const found = await this.findClusterResources(clusterName);
    const all = [
      ...found.instances.map(instanceResource),
      ...found.firewalls.map(firewallResource),
      ...found.disks.map(diskResource),
    ];
    const report: DestroyReport = {
      clusterName,
      notFound: all.length === 0,
      dryRun: Boolean(options.dryRun),
      deleted: [],
      remaining: [],
      apiCalls: {},
    };
    if (report.notFound || options.dryRun) {
      report.deleted = options.dryRun ? all : [];
      report.apiCalls = { ...this.api.calls };
      return report;
    }
    // Deleted instances vanish from Compute Engine: the ones destroyed now count, and the
    // workers deleted earlier through terminateNodes as the leader recorded them (their record
    // does not say spot or on demand, so they get no price rather than a guessed one).
    const lifetime = (i: any): NodeLifetime & { zone?: string } => {
      const node = nodeFromInstance(i);
      return {
        nodeType: node.nodeType,
        launched: node.launchTime,
        spot: node.preemptible,
        ...(node.zone ? { zone: node.zone } : {}),
      };
    };
    const recorded = found.instances
      .filter((i) => i.labels?.[ROLE_LABEL] === 'leader')
      .flatMap(nodeLifetimes)
      .map((life) => ({
        ...life,
        noPrice: "deleted earlier: the leader's record does not say spot or on demand",
      }));
    const counted = new Set(found.instances.map((i) => String(i.id)));
    const lifetimes = (more: any[] = []): (NodeLifetime & { zone?: string })[] =>
      [...found.instances, ...more.filter((i) => !counted.has(String(i.id)))]
        .map(lifetime)
        .concat(recorded);
    const countHours = (more: any[] = []) => countNodeHours(lifetimes(more), Date.now() / 1000);
    const prices = new Map<string, Promise<HourlyPrice>>();
    const priceOf = (life: NodeLifetime & { zone?: string }): Promise<HourlyPrice> => {
      if (life.noPrice) return Promise.resolve({ noPrice: life.noPrice });
      const key = `${life.nodeType}|${life.spot}|${life.zone}`;
      if (!prices.has(key))
        prices.set(
          key,
          this.hourlyPrice(life.nodeType, {
            spot: life.spot ?? false,
            ...(life.zone ? { zone: life.zone } : {}),
          }),
        );
      return prices.get(key)!;
    };
    const countCost = async (more: any[] = []) => {
      const lives = lifetimes(more);
      const priced = await Promise.all(
        lives.map(async (life) => ({ ...life, ...(await priceOf(life)) })),
      );
      return countNodeCost(priced, Date.now() / 1000);
    };
    report.nodeHours = countHours();
    report.cost = await countCost();
    const span = startSpan(this.host, 'GCE_DESTROY', `Destroying cluster ${clusterName}`, {
      source: 'toil.provisioner.gce',
      total: all.length,
    });
    try {
      // The leader first, so that a running workflow cannot start more nodes.
      const leaders = found.instances.filter((i) => i.labels?.[ROLE_LABEL] === 'leader');
      let others = found.instances.filter((i) => i.labels?.[ROLE_LABEL] !== 'leader');
      if (leaders.length) {
        this.emit('info', 'GCE_DESTROY_LEADER', 'Terminating the leader first ...');
        await this.deleteInstances(leaders, 'deleting the leader');
        report.deleted.push(...leaders.map(instanceResource));
        // Nodes its power saving started while we listed (an elastic group growing).
        others = (await this.clusterInstances(clusterName)).filter(
          (i) => i.labels?.[ROLE_LABEL] !== 'leader',
        );
        report.nodeHours = countHours(others);
        report.cost = await countCost(others);
      }
      if (others.length) {
        this.emit('info', 'GCE_DESTROY_WORKERS', 'Terminating any remaining workers ...');
        await this.deleteInstances(others, 'deleting the workers');
        report.deleted.push(...others.map(instanceResource));
      }
      span.progress(report.deleted.length);
      for (const fw of found.firewalls) {
        const c = await this.conn();
        try {
          const [op] = await this.api.call('firewalls.delete', () =>
            c.clients.firewalls.delete({ project: c.project, firewall: fw.name }),
          );
          await this.waitOperation(op, `deleting firewall rule ${fw.name}`);
        } catch (error) {
          if (gceError(error).status !== 404)
            throw toToilError(error, `deleting firewall rule ${fw.name}`);
        }
        report.deleted.push(firewallResource(fw));
      }
      // Disks left behind (not auto-deleted, or of instances gone wrong), after their instances.
      const disks = await this.clusterDisks(clusterName);
      for (const disk of disks) {
        const zone = String(disk.zone).split('/').pop()!;
        const c = await this.conn();
        try {
          const [op] = await this.api.call('disks.delete', () =>
            c.clients.disks.delete({ project: c.project, zone, disk: disk.name }),
          );
          await this.waitOperation(op, `deleting disk ${disk.name}`, zone);
          report.deleted.push(diskResource(disk));
        } catch (error) {
          if (gceError(error).status !== 404)
            this.emit(
              'warning',
              'GCE_DISK_KEPT',
              `Could not delete disk ${disk.name}: ${gceError(error).message}`,
            );
        }
      }
    } finally {
      const again = await this.findClusterResources(clusterName);
      report.remaining = [
        ...again.instances.map(instanceResource),
        ...again.firewalls.map(firewallResource),
        ...again.disks.map(diskResource),
      ];
      report.apiCalls = { ...this.api.calls };
      span.end(
        report.remaining.length
          ? `Cluster ${clusterName} is not fully gone.`
          : `Cluster ${clusterName} is now gone.`,
        {
          ok: report.remaining.length === 0,
        },
      );
    }
    if (report.remaining.length > 0)
      throw new ToilError(
        'DESTROY_INCOMPLETE',
        `Cluster ${clusterName} is not fully gone; left: ${report.remaining.map((r) => `${r.kind} ${r.id}`).join(', ')}.`,
        {
          hint: `Run toil destroy-cluster ${this.options()} ${clusterName} again, or delete them in the console.`,
          data: { report },
        },
      );
    return report;
  }

  private async findClusterResources(
    clusterName: string,
  ): Promise<{ instances: any[]; firewalls: any[]; disks: any[] }> {
    const instances = await this.clusterInstances(clusterName);
    const firewalls = await this.clusterFirewalls(clusterName);
    const attached = new Set(
      instances.flatMap((i) => (i.disks ?? []).map((d: any) => String(d.source))),
    );
    const disks = (await this.clusterDisks(clusterName)).filter(
      (d) => !attached.has(String(d.selfLink)),
    );
    return { instances, firewalls, disks };
  }

  async listClusters(): Promise<ClusterSummary[]> {
    const instances = await this.aggregated('instances', `labels.${CLUSTER_LABEL}:*`);
    const byCluster = new Map<string, ClusterNode[]>();
    for (const node of instances.map(nodeFromInstance)) {
      const list = byCluster.get(node.clusterName) ?? [];
      list.push(node);
      byCluster.set(node.clusterName, list);
    }
    return [...byCluster.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, nodes]) => {
        const leader = nodes.find((n) => n.role === 'leader');
        const counts: ClusterSummary['nodes'] = {};
        for (const n of nodes) {
          const byState = (counts[n.nodeType] ??= {});
          byState[n.state] = (byState[n.state] ?? 0) + 1;
        }
        return {
          name,
          provisioner: 'gce',
          zone: (leader ?? nodes[0])?.zone,
          ...(leader
            ? {
                leader: {
                  id: leader.id,
                  state: leader.state,
                  privateAddress: leader.privateAddress,
                  publicAddress: leader.publicAddress,
                },
              }
            : {}),
          owner: leader?.tags.Owner ?? nodes[0]?.tags.Owner,
          launchTime: (leader ?? nodes.reduce((a, b) => (a.launchTime <= b.launchTime ? a : b)))
            .launchTime,
          nodes: counts,
          nodeCount: nodes.length,
        };
      });
  }

  async listNodes(clusterName: string): Promise<ClusterNode[]> {
    const nodes = (await this.clusterInstances(clusterName)).map(nodeFromInstance);
    return nodes.sort((a, b) =>
      a.role === b.role ? a.launchTime - b.launchTime : a.role === 'leader' ? -1 : 1,
    );
  }

  async getLeader(clusterName: string): Promise<ClusterNode> {
    const leader = (await this.listNodes(clusterName)).find((n) => n.role === 'leader');
    if (!leader)
      throw new ToilError('CLUSTER_NOT_FOUND', `The cluster '${clusterName}' could not be found`, {
        hint: `List the clusters with: toil list-clusters ${this.options()}`,
      });
    return leader;
  }
}

/**
 * A worker's instance name: the cluster's, then the Slurm node name it was started as (when
 * it fits Compute Engine's 63 characters) or `wp` (preemptible) / `wn`, then a random part.
 */
export function workerName(clusterName: string, preemptible: boolean, slurmNode?: string): string {
  const suffix = randomBytes(3).toString('hex');
  const named = slurmNode ? `${clusterName}-${slurmNode}-${suffix}` : '';
  return /^[a-z][-a-z0-9]{0,61}[a-z0-9]$/.test(named)
    ? named
    : `${clusterName}-w${preemptible ? 'p' : 'n'}-${suffix}`;
}

function instanceResource(i: any): ClusterResource {
  return { kind: 'instance', id: String(i.name), detail: String(i.status) };
}

function firewallResource(f: any): ClusterResource {
  return { kind: 'firewall', id: String(f.name) };
}

function diskResource(d: any): ClusterResource {
  return {
    kind: 'disk',
    id: String(d.name),
    detail: String(d.zone ?? '')
      .split('/')
      .pop(),
  };
}
