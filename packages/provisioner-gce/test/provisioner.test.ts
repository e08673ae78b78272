import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingHost } from '@toil/core';
import {
  SLURM_NODE_TAG,
  parseClusterSpec,
  type AutoscaleConfig,
  type ClusterSpec,
  type ClusterSpecInput,
} from '@toil/provisioner';
import * as compute from '@google-cloud/compute';
import { createProvisioner, GceProvisioner } from '@toil/provisioner-gce';
import {
  MACHINE_TYPES,
  startGceFake,
  type FakeInstanceView,
  type GceFake,
} from '../../../tooling/test-env/gce-fake.js';
import { rejectedToilError } from '../../../tooling/test-env/errors.js';

// The provisioner runs the real @google-cloud/compute client against the Compute Engine fake,
// configured as a user would point it elsewhere: TOIL_GCE_ENDPOINT and the standard auth chain
// (GOOGLE_APPLICATION_CREDENTIALS). Without the simulated cloud the fake plays cloud-init's
// console (host-key fingerprints), and its nodes take no SSH: stage 2 is a recording runner
// here (which nodes it is given, when), and runs for real on the simulated cloud
// (tooling/test-env/test/seed-on-simcloud.test.ts).

const ZONE = 'us-central1-a';
let fake: GceFake;
let dir: string;
let env: NodeJS.ProcessEnv;

function spec(name: string, extra: Partial<ClusterSpecInput> = {}): ClusterSpec {
  return parseClusterSpec({
    clusterName: name,
    provisioner: 'gce',
    zone: ZONE,
    leaderNodeType: 'e2-standard-2',
    keyPairName: 'alice',
    owner: 'alice',
    tags: { Name: name, Owner: 'alice', project: 'Genomics', clusterName: name },
    sshUser: 'alice',
    sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests alice@laptop',
    toilPackage: { kind: 'registry', version: '0.1.0' },
    ...extra,
  });
}

/** The stage 2 runs of the recording runner: the leader's and the workers' instance names. */
let stage2Runs: Array<{ leader: string; workers: string[]; autoscale?: AutoscaleConfig }> = [];

function provisioner(host = new RecordingHost()) {
  return createProvisioner({
    zone: ZONE,
    host,
    env,
    timeouts: { hostKeys: 30_000 },
    stage2: async (cluster) => {
      stage2Runs.push({
        leader: cluster.leader.name,
        workers: cluster.workers.map((w) => w.name).sort(),
        ...(cluster.autoscale ? { autoscale: cluster.autoscale } : {}),
      });
    },
  }) as GceProvisioner;
}

beforeEach(() => {
  stage2Runs = [];
});

// The auth library reads these from process.env: never probe a metadata server, never read
// this machine's gcloud login.
const savedEnv = { ...process.env };
process.env.METADATA_SERVER_DETECTION = 'none';

beforeAll(async () => {
  fake = await startGceFake({ cpuQuota: 12 });
  dir = mkdtempSync(join(tmpdir(), 'provisioner-gce-test-'));
  env = {
    ...process.env,
    ...fake.writeCredentials(dir),
    TOIL_GCE_ENDPOINT: fake.endpoint,
    GOOGLE_CLOUD_PROJECT: fake.project,
  };
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the GCE provisioner against the Compute Engine fake', () => {
  it('launches a leader and preemptible workers, lists them and destroys everything, twice', async () => {
    const host = new RecordingHost();
    const p = provisioner(host);
    const result = await p.launchCluster(
      spec('gc1', { workers: [{ instanceTypes: ['e2-small'], spotBid: 0.02, count: 2 }] }),
    );
    expect(result.leader!.role).toBe('leader');
    expect(result.leader!.hostKeys.map((k) => k.algorithm).sort()).toEqual([
      'ecdsa-sha2-nistp256',
      'ssh-ed25519',
    ]);
    expect(result.leader!.privateAddress).toMatch(/^10\./);
    expect(result.workers).toHaveLength(2);
    expect(result.workers.every((w) => w.preemptible && w.nodeType === 'e2-small')).toBe(true);
    expect(host.events.map((e) => e.code)).toContain('GCE_SPOT_BID_IGNORED');
    // Stage 2 on the leader once it runs, then on the cluster with its workers.
    expect(stage2Runs).toEqual([
      { leader: 'gc1-leader', workers: [] },
      { leader: 'gc1-leader', workers: result.workers.map((w) => w.name).sort() },
    ]);

    const view = fake.instances().find((i) => i.name === 'gc1-leader')!;
    expect(view.labels).toMatchObject({
      'toil-cluster': 'gc1',
      'toil-role': 'leader',
      owner: 'alice',
      project: 'genomics',
      'toil-ssh-user': 'alice',
    });
    expect(view.metadata['ssh-keys']).toBe(
      'alice:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests alice@laptop',
    );
    expect(view.metadata['user-data']).toMatch(/^#cloud-config\n/);
    expect(view.metadata['user-data']).not.toMatch(/PRIVATE KEY/);
    expect(fake.inventory().firewalls.sort()).toEqual(['toil-gc1-int', 'toil-gc1-ssh']);

    const leader = await p.getLeader('gc1');
    expect([leader.name, leader.tags.project, leader.sshUser]).toEqual([
      'gc1-leader',
      'Genomics',
      'alice',
    ]);
    expect(leader.hostKeys).toEqual(result.leader!.hostKeys);
    expect((await p.listNodes('gc1')).map((n) => n.role)).toEqual(['leader', 'worker', 'worker']);
    const [summary] = (await p.listClusters()).filter((c) => c.name === 'gc1');
    expect(summary).toMatchObject({
      provisioner: 'gce',
      zone: ZONE,
      owner: 'alice',
      nodeCount: 3,
      nodes: { 'e2-standard-2': { running: 1 }, 'e2-small': { running: 2 } },
    });

    const dryRun = await p.destroyCluster('gc1', { dryRun: true });
    expect(dryRun.deleted).toHaveLength(5);
    expect(fake.inventory().instances).toHaveLength(3);

    const report = await p.destroyCluster('gc1');
    expect(report.notFound).toBe(false);
    expect(report.deleted[0]).toMatchObject({ kind: 'instance', id: 'gc1-leader' });
    expect(report.deleted.map((r) => r.kind)).toEqual([
      'instance',
      'instance',
      'instance',
      'firewall',
      'firewall',
    ]);
    expect(report.remaining).toEqual([]);
    expect(report.nodeHours).toMatchObject({ nodes: 3 });
    // And their cost at the Cloud Billing Catalog's prices (the fake serves it too).
    expect(
      report.cost!.byType.map((t) => [t.type, t.spot, t.usd !== undefined, t.noPrice]).sort(),
    ).toEqual([
      ['e2-small', true, true, undefined],
      ['e2-standard-2', false, true, undefined],
    ]);
    expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });

    const again = await p.destroyCluster('gc1');
    expect([again.notFound, again.deleted, again.remaining]).toEqual([true, [], []]);
    expect((await rejectedToilError(p.getLeader('gc1'))).code).toBe('CLUSTER_NOT_FOUND');
  }, 180_000);

  it('leaves nothing after destroying a launch that failed half-way on the CPUS quota', async () => {
    const p = provisioner();
    // quota 12: the leader (2) and two e2-standard-4 workers (8) fit, the third does not
    const error = await rejectedToilError(
      p.launchCluster(spec('gc2', { workers: [{ instanceTypes: ['e2-standard-4'], count: 3 }] })),
    );
    expect(error.code).toBe('LAUNCH_FAILED');
    expect(error.message).toMatch(/Quota 'CPUS' exceeded/);
    expect(error.hint).toMatch(/destroy-cluster --provisioner gce --zone us-central1-a gc2/);
    expect(fake.inventory().instances.length).toBeGreaterThan(0);
    const report = await p.destroyCluster('gc2');
    expect(report.remaining).toEqual([]);
    expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });
  });

  it('destroys a cluster whose leader was preempted (TERMINATED), leader first', async () => {
    const p = provisioner();
    await p.launchCluster(spec('gc3'));
    fake.preempt(ZONE, 'gc3-leader');
    const p2 = provisioner();
    const report = await p2.destroyCluster('gc3');
    expect(report.deleted[0]).toMatchObject({ kind: 'instance', id: 'gc3-leader' });
    expect(report.remaining).toEqual([]);
    expect(fake.inventory().instances).toEqual([]);
  });

  it('retries rate limits and transient errors', async () => {
    fake.injectFault({ path: /^aggregated\/instances/, status: 429, count: 2 });
    fake.injectFault({ path: /^global\/firewalls/, status: 503, count: 1 });
    const report = await provisioner().destroyCluster('nothing-here');
    expect(report.notFound).toBe(true);
    expect(report.apiCalls['instances.aggregatedList']).toBe(3);
    expect(report.apiCalls['firewalls.list']).toBe(2);
  });

  it("refuses AWS instance types with Toil's message and unknown machine types with a suggestion", async () => {
    const p = provisioner();
    const aws = await rejectedToilError(
      p.launchCluster(spec('gc4', { leaderNodeType: 't2.micro' })),
    );
    expect([aws.code, aws.message]).toEqual([
      'NODE_TYPE_INVALID',
      "It looks like you've specified an AWS nodeType with the gce provisioner. Please specify a nodeType for gce.",
    ]);
    const typo = await rejectedToilError(
      p.launchCluster(spec('gc4', { leaderNodeType: 'e2-standrd-2' })),
    );
    expect(typo.message).toBe(
      'Invalid machine type (e2-standrd-2) specified for GCE in zone: us-central1-a. Did you mean e2-standard-2?',
    );
    const elsewhere = createProvisioner({ zone: 'europe-west1-b', host: new RecordingHost(), env });
    const n2 = await rejectedToilError(
      elsewhere.launchCluster(
        spec('gc4', { zone: 'europe-west1-b', leaderNodeType: 'n2-standard-2' }),
      ),
    );
    expect(n2.message).toMatch(
      /^Invalid machine type \(n2-standard-2\) specified for GCE in zone: europe-west1-b\./,
    );
    expect(fake.inventory().instances).toEqual([]);
  });

  it('plans a dry run and creates nothing', async () => {
    const result = await provisioner().launchCluster(
      spec('gc5', { dryRun: true, workers: [{ instanceTypes: ['e2-small'], count: 2 }] }),
    );
    expect(result.dryRun).toBe(true);
    expect(result.resources.map((r) => r.kind)).toEqual([
      'firewall',
      'firewall',
      'instance',
      'instance',
      'instance',
    ]);
    expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });
  });

  it('destroys a disk the cluster left behind (labelled, attached to nothing) after its instances, and looks again', async () => {
    const p = provisioner();
    await p.launchCluster(spec('gc7'));
    const url = new URL(fake.endpoint);
    const options = { apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http' };
    const disks = new compute.DisksClient({
      ...options,
      keyFilename: env.GOOGLE_APPLICATION_CREDENTIALS,
    });
    const zoneOps = new compute.ZoneOperationsClient({
      ...options,
      keyFilename: env.GOOGLE_APPLICATION_CREDENTIALS,
    });
    const [op] = await disks.insert({
      project: fake.project,
      zone: ZONE,
      diskResource: { name: 'gc7-scratch', sizeGb: '20', labels: { 'toil-cluster': 'gc7' } },
    });
    await zoneOps.wait({ project: fake.project, zone: ZONE, operation: op.latestResponse.name });
    disks.close();
    zoneOps.close();
    expect(fake.inventory().disks.sort()).toEqual([`${ZONE}/gc7-leader`, `${ZONE}/gc7-scratch`]);

    const plan = await p.destroyCluster('gc7', { dryRun: true });
    expect(plan.deleted).toContainEqual({ kind: 'disk', id: 'gc7-scratch', detail: ZONE });
    const report = await p.destroyCluster('gc7');
    const kinds = report.deleted.map((r) => `${r.kind} ${r.id}`);
    expect(kinds).toEqual([
      'instance gc7-leader',
      'firewall toil-gc7-int',
      'firewall toil-gc7-ssh',
      'disk gc7-scratch',
    ]);
    expect(report.remaining).toEqual([]);
    expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });
  });

  it('takes the project from --project over GOOGLE_CLOUD_PROJECT, and from the credentials when neither is set', async () => {
    const { GOOGLE_CLOUD_PROJECT: _, ...withoutProject } = env;
    const fromCredentials = createProvisioner({
      zone: ZONE,
      host: new RecordingHost(),
      env: withoutProject,
    });
    await provisioner().launchCluster(spec('gc8'));
    expect((await fromCredentials.listClusters()).map((c) => c.name)).toEqual(['gc8']);

    const elsewhere = { ...env, GOOGLE_CLOUD_PROJECT: 'someone-elses-project' };
    const wrong = await rejectedToilError(
      createProvisioner({ zone: ZONE, host: new RecordingHost(), env: elsewhere }).listClusters(),
    );
    expect([wrong.code, wrong.message]).toEqual([
      'CLOUD_API',
      "Compute Engine listing instances failed: The resource 'projects/someone-elses-project' was not found",
    ]);
    const given = createProvisioner({
      zone: ZONE,
      host: new RecordingHost(),
      env: elsewhere,
      project: fake.project,
    });
    expect((await given.listClusters()).map((c) => c.name)).toEqual(['gc8']);
    await given.destroyCluster('gc8');
  });

  it('adds nodes with stage 2 over the leader, the running workers and the new ones, or without it (bootstrap none), and terminates only its own nodes', async () => {
    const p = provisioner();
    const launched = await p.launchCluster(
      spec('gc9', { workers: [{ instanceTypes: ['e2-small'], count: 1 }] }),
    );
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests alice@laptop';
    const missing = await rejectedToilError(
      p.addNodes('gc9', { instanceTypes: ['e2-small'] }, 1, { sshPublicKey: key }),
    );
    expect([missing.code, missing.message]).toEqual([
      'INVALID_ARGUMENT',
      expect.stringContaining('needs options.toilPackage'),
    ]);
    stage2Runs = [];
    const [added] = await p.addNodes('gc9', { instanceTypes: ['e2-small'] }, 1, {
      sshPublicKey: key,
      toilPackage: { kind: 'registry', version: '0.1.0' },
    });
    expect(added!.hostKeys.length).toBeGreaterThan(0);
    expect(stage2Runs).toEqual([
      {
        leader: 'gc9-leader',
        workers: [launched.workers[0]!.name, added!.name].sort(),
      },
    ]);
    stage2Runs = [];
    const plain = await p.addNodes('gc9', { instanceTypes: ['e2-small'] }, 1, {
      sshPublicKey: key,
      bootstrap: 'none',
    });
    expect([plain.length, stage2Runs]).toEqual([1, []]);
    expect((await rejectedToilError(p.terminateNodes('gc9', ['gc1-leader']))).code).toBe(
      'INVALID_ARGUMENT',
    );
    await p.terminateNodes('gc9', [plain[0]!.name]);
    expect((await p.listNodes('gc9')).map((n) => n.name).sort()).toEqual(
      ['gc9-leader', launched.workers[0]!.name, added!.name].sort(),
    );
    await p.destroyCluster('gc9');
  }, 120_000);

  it("launches elastic groups: the leader gets the autoscaling settings with the zone's machine sizes and a service account; nodes added for Slurm node names carry them, get the leader's uid, Spot ones are deleted when preempted; the node-hours of terminated ones are recorded on the leader and destroy-cluster counts them", async () => {
    const host = new RecordingHost();
    const p = provisioner(host);
    const elastic = {
      elastic: [
        { instanceTypes: ['e2-small'], min: 0, max: 2 },
        { instanceTypes: ['n1-standard-1'], spotBid: 0.05, min: 0, max: 1 },
      ],
      nodeIdleSeconds: 20,
    };
    const plan = await p.launchCluster(spec('gc10', { ...elastic, dryRun: true }));
    expect(plan.resources.map((r) => [r.kind, r.id])).toEqual([
      ['firewall', 'toil-gc10-ssh'],
      ['firewall', 'toil-gc10-int'],
      ['instance', 'gc10-leader'],
      ['elastic-group', '0-2 worker(s)'],
      ['elastic-group', '0-1 worker(s)'],
    ]);
    expect(plan.resources[2]!.detail).toContain("the project's default service account");
    expect(plan.resources[4]!.detail).toContain('preemptible (Spot)');
    const launched = await p.launchCluster(spec('gc10', elastic));
    expect(launched.workers).toEqual([]);
    expect(launched.resources.map((r) => r.kind)).toEqual(['firewall', 'firewall', 'instance']);
    expect(host.events.map((e) => e.code)).toContain('GCE_SPOT_BID_IGNORED');
    const size = (type: string) => ({
      cpus: MACHINE_TYPES[type]!.guestCpus,
      memoryMb: Math.floor(MACHINE_TYPES[type]!.memoryMb * 0.9),
    });
    expect(stage2Runs).toEqual([
      {
        leader: 'gc10-leader',
        workers: [],
        autoscale: {
          version: 1,
          clusterName: 'gc10',
          provisioner: 'gce',
          zone: ZONE,
          nodeStorageGb: 50,
          phaseTimeoutSeconds: 600,
          idleSeconds: 20,
          groups: [
            { instanceTypes: ['e2-small'], min: 0, max: 2, prefix: 'w0-', ...size('e2-small') },
            {
              instanceTypes: ['n1-standard-1'],
              spotBid: 0.05,
              min: 0,
              max: 1,
              prefix: 'w1-',
              ...size('n1-standard-1'),
            },
          ],
        },
      },
    ]);
    const instances = new compute.InstancesClient({
      apiEndpoint: '127.0.0.1',
      port: fake.port,
      protocol: 'http',
      keyFilename: env.GOOGLE_APPLICATION_CREDENTIALS,
    });
    try {
      const [leader] = await instances.get({
        project: fake.project,
        zone: ZONE,
        instance: 'gc10-leader',
      });
      expect(leader.serviceAccounts).toMatchObject([
        { scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
      ]);
    } finally {
      await instances.close();
    }

    // As the leader's power saving starts w1-0 (Spot) and w0-0.
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests slurm@leader';
    const forSlurm = (name: string) => ({
      sshPublicKey: key,
      sshUid: 1234,
      storageGb: 20,
      bootstrap: 'host-keys' as const,
      tags: { [SLURM_NODE_TAG]: name },
    });
    const [spot] = await p.addNodes(
      'gc10',
      { instanceTypes: ['n1-standard-1'], spotBid: 0.05 },
      1,
      forSlurm('w1-0'),
    );
    expect(spot!.name).toMatch(/^gc10-w1-0-[0-9a-f]{6}$/);
    expect([spot!.preemptible, spot!.tags[SLURM_NODE_TAG], spot!.hostKeys.length > 0]).toEqual([
      true,
      'w1-0',
      true,
    ]);
    const view = fake.instances().find((i) => i.name === spot!.name)!;
    expect(view.labels['toil-ts_slurm-node']).toBe('w1-0');
    expect(view.metadata['ssh-keys']).toBe(`alice:${key}`);
    expect(view.metadata['user-data']).toContain('1234');
    expect(stage2Runs).toHaveLength(1);
    const gone = new Promise<string>((resolve) =>
      fake.once('instance-deleted', (v: FakeInstanceView) => resolve(v.name)),
    );
    fake.preempt(ZONE, spot!.name);
    expect(await gone).toBe(spot!.name);

    const [node] = await p.addNodes('gc10', { instanceTypes: ['e2-small'] }, 1, forSlurm('w0-0'));
    const found = (await p.listNodes('gc10')).filter((n) => n.tags[SLURM_NODE_TAG] === 'w0-0');
    expect(found.map((n) => n.id)).toEqual([node!.id]);
    await p.terminateNodes('gc10', [node!.id]);
    await p.terminateNodes('gc10', []);
    const leaderView = fake.instances().find((i) => i.name === 'gc10-leader')!;
    const recorded = JSON.parse(leaderView.metadata['toil-node-lifetimes']!) as unknown[];
    expect(recorded).toEqual([['e2-small', node!.launchTime, expect.any(Number)]]);

    const [live] = await p.addNodes('gc10', { instanceTypes: ['e2-small'] }, 1, {
      ...forSlurm('w0-1'),
      bootstrap: 'none',
    });
    const report = await p.destroyCluster('gc10');
    expect(report.deleted.filter((r) => r.kind === 'instance').map((r) => r.id)).toEqual([
      'gc10-leader',
      live!.name,
    ]);
    expect(report.nodeHours).toMatchObject({ nodes: 3 });
    expect(Object.keys(report.nodeHours!.byType).sort()).toEqual(['e2-small', 'e2-standard-2']);
    expect(fake.inventory().instances).toEqual([]);
  }, 180_000);

  it('refuses a second cluster of the same name', async () => {
    const p = provisioner();
    await p.launchCluster(spec('gc6'));
    expect((await rejectedToilError(p.launchCluster(spec('gc6')))).code).toBe('CLUSTER_EXISTS');
    await p.destroyCluster('gc6');
  });

  it('says in one line how to give credentials when there are none', async () => {
    const none = createProvisioner({
      zone: ZONE,
      host: new RecordingHost(),
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        CLOUDSDK_CONFIG: join(dir, 'no-gcloud'),
        METADATA_SERVER_DETECTION: 'none',
        TOIL_GCE_ENDPOINT: fake.endpoint,
        GOOGLE_CLOUD_PROJECT: fake.project,
      },
    });
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    const savedHome = process.env.HOME;
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.HOME = dir;
    try {
      const error = await rejectedToilError(none.listClusters());
      expect(error.code).toBe('CLOUD_CREDENTIALS');
      expect(error.message).toBe('No usable Google Cloud credentials found.');
      expect(error.hint).toMatch(/GOOGLE_APPLICATION_CREDENTIALS/);
    } finally {
      if (saved !== undefined) process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
      process.env.HOME = savedHome;
    }
  });
});
