import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as compute from '@google-cloud/compute';
import { startGceFake, type GceFake, type FakeInstanceView } from '../gce-fake.js';

// The real @google-cloud/compute client (6.15, the release line for Node 20), configured the
// way a user points it at another endpoint: apiEndpoint/port/protocol, with credentials from
// the standard chain (GOOGLE_APPLICATION_CREDENTIALS → an external_account file).

const ZONE = 'us-central1-a';
let fake: GceFake;
let dir: string;
const saved: Record<string, string | undefined> = {};

function clients(target: GceFake = fake, keyFilename?: string) {
  const options = {
    apiEndpoint: '127.0.0.1',
    port: target.port,
    protocol: 'http',
    ...(keyFilename ? { keyFilename } : {}),
  };
  return {
    instances: new compute.InstancesClient(options),
    zones: new compute.ZonesClient(options),
    machineTypes: new compute.MachineTypesClient(options),
    images: new compute.ImagesClient(options),
    disks: new compute.DisksClient(options),
    firewalls: new compute.FirewallsClient(options),
    networks: new compute.NetworksClient(options),
    zoneOps: new compute.ZoneOperationsClient(options),
    globalOps: new compute.GlobalOperationsClient(options),
  };
}

type Clients = ReturnType<typeof clients>;
let c: Clients;

function errorOf(promise: Promise<unknown>): Promise<{ code: number; body: any }> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: any) => ({ code: e.code, body: JSON.parse(e.message) }),
  );
}

async function waitZone(op: any, target: Clients = c) {
  const [done] = await target.zoneOps.wait({
    project: fake.project,
    zone: ZONE,
    operation: op.latestResponse.name,
  });
  return done;
}

function instanceBody(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    machineType: `zones/${ZONE}/machineTypes/e2-small`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: 'projects/debian-cloud/global/images/family/debian-12',
          diskSizeGb: 20,
        },
      },
    ],
    networkInterfaces: [
      { network: 'global/networks/default', accessConfigs: [{ type: 'ONE_TO_ONE_NAT' }] },
    ],
    ...extra,
  };
}

async function insert(name: string, extra: Record<string, unknown> = {}) {
  const [op] = await c.instances.insert({
    project: fake.project,
    zone: ZONE,
    instanceResource: instanceBody(name, extra),
  });
  return waitZone(op);
}

beforeAll(async () => {
  fake = await startGceFake({ subnetCidr: '10.231.7.0/24', cpuQuota: 12 });
  dir = mkdtempSync(join(tmpdir(), 'gce-fake-test-'));
  for (const [key, value] of Object.entries(fake.writeCredentials(dir))) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  c = clients();
});

afterAll(async () => {
  await fake.stop();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the Compute Engine fake', () => {
  it('lists its zones and each zone its own machine types', async () => {
    const [zones] = await c.zones.list({ project: fake.project });
    expect(zones.map((z) => z.name)).toEqual(['us-central1-a', 'us-central1-b', 'europe-west1-b']);
    expect(zones[0]!.region).toMatch(/\/regions\/us-central1$/);
    const [types] = await c.machineTypes.list({ project: fake.project, zone: 'europe-west1-b' });
    expect(types.map((t) => t.name)).toContain('e2-standard-2');
    expect(types.map((t) => t.name)).not.toContain('n2-standard-2');
    const [t] = await c.machineTypes.get({
      project: fake.project,
      zone: ZONE,
      machineType: 'n2-standard-4',
    });
    expect([t.guestCpus, t.memoryMb]).toEqual([4, 16384]);
    const missing = await errorOf(
      c.machineTypes.get({
        project: fake.project,
        zone: 'europe-west1-b',
        machineType: 'n2-standard-2',
      }),
    );
    expect(missing.code).toBe(404);
    expect(missing.body.error.errors[0].reason).toBe('notFound');
  });

  it('resolves an image family to its newest image that is not deprecated', async () => {
    const [image] = await c.images.getFromFamily({ project: 'debian-cloud', family: 'debian-12' });
    expect(image.name).toBe('debian-12-bookworm-v20241112');
    expect(image.selfLink).toBe(
      'https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/debian-12-bookworm-v20241112',
    );
    const [old] = await c.images.get({
      project: 'debian-cloud',
      image: 'debian-12-bookworm-v20240110',
    });
    expect(old.deprecated?.state).toBe('DEPRECATED');
    const missing = await errorOf(
      c.images.getFromFamily({ project: 'debian-cloud', family: 'debian-99' }),
    );
    expect(missing.code).toBe(404);
    expect(missing.body.error.message).toBe(
      "The resource 'projects/debian-cloud/global/images/family/debian-99' was not found",
    );
  });

  it('takes an instance through PROVISIONING, STAGING, RUNNING, STOPPING, TERMINATED and deletes it with its boot disk', async () => {
    const seen: string[] = [];
    const onStatus = (v: FakeInstanceView) => v.name === 'life' && seen.push(v.status);
    fake.on('instance-status', onStatus);
    const [op] = await c.instances.insert({
      project: fake.project,
      zone: ZONE,
      instanceResource: instanceBody('life'),
    });
    expect((op.latestResponse as { status?: string }).status).toBe('PENDING');
    const done = await waitZone(op);
    expect(done.status).toBe('DONE');
    expect(done.operationType).toBe('insert');
    expect(done.error).toBeFalsy();
    const [instance] = await c.instances.get({
      project: fake.project,
      zone: ZONE,
      instance: 'life',
    });
    expect(instance.status).toBe('RUNNING');
    const ip = instance.networkInterfaces![0]!.networkIP!;
    expect(ip).toMatch(/^10\.231\.7\.\d+$/);
    expect(instance.networkInterfaces![0]!.accessConfigs![0]!.natIP).toBeFalsy();
    expect(instance.disks![0]!.boot).toBe(true);
    const [disk] = await c.disks.get({ project: fake.project, zone: ZONE, disk: 'life' });
    expect(disk.sizeGb).toBe('20');
    expect(disk.users).toEqual([instance.selfLink]);

    const [stop] = await c.instances.stop({ project: fake.project, zone: ZONE, instance: 'life' });
    await waitZone(stop);
    const [stopped] = await c.instances.get({
      project: fake.project,
      zone: ZONE,
      instance: 'life',
    });
    expect(stopped.status).toBe('TERMINATED');
    const [start] = await c.instances.start({
      project: fake.project,
      zone: ZONE,
      instance: 'life',
    });
    await waitZone(start);
    const [del] = await c.instances.delete({ project: fake.project, zone: ZONE, instance: 'life' });
    const again = await errorOf(
      c.instances.delete({ project: fake.project, zone: ZONE, instance: 'life' }),
    );
    expect([again.code, again.body.error.errors[0].reason]).toEqual([400, 'resourceNotReady']);
    await waitZone(del);
    fake.off('instance-status', onStatus);
    expect(seen).toEqual([
      'PROVISIONING',
      'STAGING',
      'RUNNING',
      'STOPPING',
      'TERMINATED',
      'STAGING',
      'RUNNING',
      'STOPPING',
    ]);
    const gone = await errorOf(
      c.instances.get({ project: fake.project, zone: ZONE, instance: 'life' }),
    );
    expect(gone.code).toBe(404);
    expect(gone.body.error.message).toBe(
      `The resource 'projects/${fake.project}/zones/${ZONE}/instances/life' was not found`,
    );
    expect(
      (await errorOf(c.disks.get({ project: fake.project, zone: ZONE, disk: 'life' }))).code,
    ).toBe(404);
  });

  it('deletes a preempted Spot VM whose instanceTerminationAction is DELETE with its boot disk, and keeps one with STOP (the default) TERMINATED', async () => {
    const spot = { scheduling: { provisioningModel: 'SPOT', preemptible: true } };
    await insert('spot-stop', spot);
    await insert('spot-delete', {
      scheduling: { ...spot.scheduling, instanceTerminationAction: 'DELETE' },
      serviceAccounts: [
        { email: 'default', scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
      ],
    });
    const [created] = await c.instances.get({
      project: fake.project,
      zone: ZONE,
      instance: 'spot-delete',
    });
    expect(created.scheduling).toMatchObject({
      provisioningModel: 'SPOT',
      preemptible: true,
      instanceTerminationAction: 'DELETE',
    });
    expect(created.serviceAccounts).toMatchObject([
      {
        email: `${fake.projectNumber}-compute@developer.gserviceaccount.com`,
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ]);
    const deleted = new Promise<string>((resolve) =>
      fake.once('instance-deleted', (v: FakeInstanceView) => resolve(v.name)),
    );
    fake.preempt(ZONE, 'spot-stop');
    fake.preempt(ZONE, 'spot-delete');
    expect(await deleted).toBe('spot-delete');
    const [stopped] = await c.instances.get({
      project: fake.project,
      zone: ZONE,
      instance: 'spot-stop',
    });
    expect([stopped.status, stopped.scheduling!.instanceTerminationAction]).toEqual([
      'TERMINATED',
      'STOP',
    ]);
    for (const gone of [
      c.instances.get({ project: fake.project, zone: ZONE, instance: 'spot-delete' }),
      c.disks.get({ project: fake.project, zone: ZONE, disk: 'spot-delete' }),
    ])
      expect((await errorOf(gone)).code).toBe(404);
    const [op] = await c.instances.delete({
      project: fake.project,
      zone: ZONE,
      instance: 'spot-stop',
    });
    await waitZone(op);
    const standard = await errorOf(
      c.instances.insert({
        project: fake.project,
        zone: ZONE,
        instanceResource: instanceBody('not-spot', {
          scheduling: { instanceTerminationAction: 'DELETE' },
        }),
      }),
    );
    expect([standard.code, standard.body.error.errors[0].reason]).toEqual([400, 'invalid']);
  });

  it('serves a second address on the same port, reached with credentials that name it', async () => {
    const other = await fake.listenAlso('127.0.0.2');
    expect(other).toBe(`http://127.0.0.2:${fake.port}`);
    const subject = join(dir, 'other-subject');
    const file = join(dir, 'other-credentials.json');
    const { json, subjectToken } = fake.credentials(other, subject);
    writeFileSync(subject, subjectToken);
    writeFileSync(file, json);
    expect(JSON.parse(json).token_url).toBe(`${other}/v1/token`);
    const zones = new compute.ZonesClient({
      apiEndpoint: '127.0.0.2',
      port: fake.port,
      protocol: 'http',
      keyFilename: file,
    });
    try {
      const [listed] = await zones.list({ project: fake.project });
      expect(listed.map((z) => z.name)).toContain(ZONE);
    } finally {
      await zones.close();
    }
  });

  it('keeps a disk that is not auto-deleted after its instance is gone, and refuses to delete a disk in use', async () => {
    await insert('keeper', {
      disks: [
        ...instanceBody('x').disks,
        { autoDelete: false, initializeParams: { diskName: 'keeper-data', diskSizeGb: 100 } },
      ],
    });
    const inUse = await errorOf(
      c.disks.delete({ project: fake.project, zone: ZONE, disk: 'keeper-data' }),
    );
    expect([inUse.code, inUse.body.error.errors[0].reason]).toEqual([
      400,
      'resourceInUseByAnotherResource',
    ]);
    const [del] = await c.instances.delete({
      project: fake.project,
      zone: ZONE,
      instance: 'keeper',
    });
    await waitZone(del);
    const [left] = await c.disks.get({ project: fake.project, zone: ZONE, disk: 'keeper-data' });
    expect(left.users ?? []).toEqual([]);
    const scopes: Record<string, string[]> = {};
    for await (const [scope, list] of c.disks.aggregatedListAsync({
      project: fake.project,
      filter: 'name = keeper-data',
    }))
      scopes[scope] = (list.disks ?? []).map((d) => d.name!);
    expect(scopes).toEqual({
      [`zones/${ZONE}`]: ['keeper-data'],
      'zones/us-central1-b': [],
      'zones/europe-west1-b': [],
    });
    const [dd] = await c.disks.delete({ project: fake.project, zone: ZONE, disk: 'keeper-data' });
    await waitZone(dd);
    expect(fake.inventory().disks).toEqual([]);
  });

  it('filters by label and pages through results with nextPageToken', async () => {
    await insert('page-a', { labels: { 'toil-cluster': 'c1' } });
    await insert('page-b', { labels: { 'toil-cluster': 'c1', 'toil-role': 'worker' } });
    await insert('page-c', { labels: { 'toil-cluster': 'c2' } });
    const [c1] = await c.instances.list({
      project: fake.project,
      zone: ZONE,
      filter: 'labels.toil-cluster=c1',
    });
    expect(c1.map((i) => i.name)).toEqual(['page-a', 'page-b']);
    const [both] = await c.instances.list({
      project: fake.project,
      zone: ZONE,
      filter: '(labels.toil-cluster = "c1") (labels.toil-role = "worker")',
    });
    expect(both.map((i) => i.name)).toEqual(['page-b']);
    const [first, next, raw] = await c.instances.list(
      { project: fake.project, zone: ZONE, maxResults: 2 },
      { autoPaginate: false },
    );
    expect(first.map((i) => i.name)).toEqual(['page-a', 'page-b']);
    expect(raw?.nextPageToken).toBeTruthy();
    const [second, last] = await c.instances.list(next!, { autoPaginate: false });
    expect(second.map((i) => i.name)).toEqual(['page-c']);
    expect(last).toBeNull();
    for (const name of ['page-a', 'page-b', 'page-c']) {
      const [op] = await c.instances.delete({ project: fake.project, zone: ZONE, instance: name });
      await waitZone(op);
    }
  });

  it('stores metadata (ssh-keys, startup-script, user-data), checks its fingerprint and shows it to the tooling', async () => {
    await insert('meta', {
      metadata: {
        items: [
          { key: 'ssh-keys', value: 'toil:ssh-ed25519 AAAAC3Nza toil' },
          { key: 'user-data', value: '#cloud-config\n{}' },
          { key: 'startup-script', value: 'echo hi' },
        ],
      },
    });
    const [instance] = await c.instances.get({
      project: fake.project,
      zone: ZONE,
      instance: 'meta',
    });
    expect(instance.metadata!.items!.map((i) => i.key)).toEqual([
      'ssh-keys',
      'user-data',
      'startup-script',
    ]);
    const view = fake.instances().find((i) => i.name === 'meta')!;
    expect(view.metadata['ssh-keys']).toBe('toil:ssh-ed25519 AAAAC3Nza toil');
    const stale = await errorOf(
      c.instances.setMetadata({
        project: fake.project,
        zone: ZONE,
        instance: 'meta',
        metadataResource: { fingerprint: 'stale', items: [] },
      }),
    );
    expect([stale.code, stale.body.error.errors[0].reason]).toEqual([412, 'conditionNotMet']);
    const [set] = await c.instances.setMetadata({
      project: fake.project,
      zone: ZONE,
      instance: 'meta',
      metadataResource: {
        fingerprint: instance.metadata!.fingerprint,
        items: [{ key: 'a', value: 'b' }],
      },
    });
    await waitZone(set);
    expect(fake.instances().find((i) => i.name === 'meta')!.metadata).toEqual({ a: 'b' });
    const tooBig = await errorOf(
      c.instances.insert({
        project: fake.project,
        zone: ZONE,
        instanceResource: instanceBody('meta-big', {
          metadata: { items: [{ key: 'user-data', value: 'x'.repeat(300 * 1024) }] },
        }),
      }),
    );
    expect(tooBig.code).toBe(400);
  });

  it('returns serial port output from an offset, as the console of the instance', async () => {
    fake.appendSerialOutput(ZONE, 'meta', 'toil-host-key: SHA256:abc\n');
    const [all] = await c.instances.getSerialPortOutput({
      project: fake.project,
      zone: ZONE,
      instance: 'meta',
      port: 1,
    });
    expect(all.contents).toContain('toil-host-key: SHA256:abc\n');
    const [tail] = await c.instances.getSerialPortOutput({
      project: fake.project,
      zone: ZONE,
      instance: 'meta',
      port: 1,
      start: Number(all.next) - 4,
    });
    expect(tail.contents).toBe('abc\n');
    const [op] = await c.instances.delete({ project: fake.project, zone: ZONE, instance: 'meta' });
    await waitZone(op);
  });

  it('answers 409 alreadyExists, 400 for a machine type the zone lacks, 400 for a bad name and label', async () => {
    await insert('dup');
    const dup = await errorOf(
      c.instances.insert({
        project: fake.project,
        zone: ZONE,
        instanceResource: instanceBody('dup'),
      }),
    );
    expect([dup.code, dup.body.error.errors[0].reason]).toEqual([409, 'alreadyExists']);
    expect(dup.body.error.message).toBe(
      `The resource 'projects/${fake.project}/zones/${ZONE}/instances/dup' already exists`,
    );
    const badType = await errorOf(
      c.instances.insert({
        project: fake.project,
        zone: ZONE,
        instanceResource: instanceBody('t2', {
          machineType: `zones/${ZONE}/machineTypes/t2.micro`,
        }),
      }),
    );
    expect(badType.code).toBe(400);
    expect(badType.body.error.message).toBe(
      `Invalid value for field 'resource.machineType': 'zones/${ZONE}/machineTypes/t2.micro'. Machine type with name 't2.micro' does not exist in zone '${ZONE}'.`,
    );
    const badName = await errorOf(
      c.instances.insert({
        project: fake.project,
        zone: ZONE,
        instanceResource: instanceBody('Bad_Name'),
      }),
    );
    expect([badName.code, badName.body.error.errors[0].reason]).toEqual([400, 'invalid']);
    const badLabel = await errorOf(
      c.instances.insert({
        project: fake.project,
        zone: ZONE,
        instanceResource: instanceBody('lbl', { labels: { Owner: 'x' } }),
      }),
    );
    expect(badLabel.code).toBe(400);
    const [op] = await c.instances.delete({ project: fake.project, zone: ZONE, instance: 'dup' });
    await waitZone(op);
  });

  it('fails an insert over the CPUS quota in its operation, creating nothing', async () => {
    // quota 12 vCPUs: three e2-standard-4 fit, the fourth does not
    for (const n of [1, 2, 3])
      await insert(`q${n}`, { machineType: `zones/${ZONE}/machineTypes/e2-standard-4` });
    const done = await insert('q4', { machineType: `zones/${ZONE}/machineTypes/e2-standard-4` });
    expect(done.status).toBe('DONE');
    expect(done.httpErrorStatusCode).toBe(403);
    expect(done.error!.errors![0]!.code).toBe('QUOTA_EXCEEDED');
    expect(done.error!.errors![0]!.message).toBe(
      "Quota 'CPUS' exceeded.  Limit: 12.0 in region us-central1.",
    );
    expect(fake.inventory().instances).not.toContain(`${ZONE}/q4`);
    expect(fake.inventory().disks).not.toContain(`${ZONE}/q4`);
    for (const n of [1, 2, 3]) {
      const [op] = await c.instances.delete({
        project: fake.project,
        zone: ZONE,
        instance: `q${n}`,
      });
      await waitZone(op);
    }
  });

  it('creates, filters and deletes firewall rules and refuses to delete a network in use', async () => {
    const [net] = await c.networks.insert({
      project: fake.project,
      networkResource: { name: 'toil-net', autoCreateSubnetworks: true },
    });
    await c.globalOps.wait({ project: fake.project, operation: net.latestResponse.name });
    const [fw] = await c.firewalls.insert({
      project: fake.project,
      firewallResource: {
        name: 'toil-c1-ssh',
        network: 'global/networks/toil-net',
        allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
        sourceRanges: ['0.0.0.0/0'],
        targetTags: ['toil-c1'],
      },
    });
    const [fwDone] = await c.globalOps.wait({
      project: fake.project,
      operation: fw.latestResponse.name,
    });
    expect(fwDone.status).toBe('DONE');
    const dup = await errorOf(
      c.firewalls.insert({
        project: fake.project,
        firewallResource: { name: 'toil-c1-ssh', allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] },
      }),
    );
    expect(dup.code).toBe(409);
    const [found] = await c.firewalls.list({ project: fake.project, filter: 'name eq toil-c1-.*' });
    expect(found.map((f) => [f.name, f.allowed![0]!.ports, f.targetTags])).toEqual([
      ['toil-c1-ssh', ['22'], ['toil-c1']],
    ]);
    const inUse = await errorOf(c.networks.delete({ project: fake.project, network: 'toil-net' }));
    expect([inUse.code, inUse.body.error.errors[0].reason]).toEqual([
      400,
      'resourceInUseByAnotherResource',
    ]);
    const [del] = await c.firewalls.delete({ project: fake.project, firewall: 'toil-c1-ssh' });
    await c.globalOps.wait({ project: fake.project, operation: del.latestResponse.name });
    const [delNet] = await c.networks.delete({ project: fake.project, network: 'toil-net' });
    await c.globalOps.wait({ project: fake.project, operation: delNet.latestResponse.name });
    expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });
  });

  it('answers an injected rate limit with 429 rateLimitExceeded, then serves again', async () => {
    fake.injectFault({ method: 'GET', path: /^zones$/, status: 429 });
    const limited = await errorOf(c.zones.list({ project: fake.project }, { retry: null } as any));
    expect([limited.code, limited.body.error.errors[0].reason]).toEqual([429, 'rateLimitExceeded']);
    const [zones] = await c.zones.list({ project: fake.project });
    expect(zones).toHaveLength(3);
  });

  it('refuses a request without an access token it issued', async () => {
    const answer = await fetch(`${fake.endpoint}/compute/v1/projects/${fake.project}/zones`);
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as any).error.status).toBe('UNAUTHENTICATED');
  });

  it('returns from operations.wait before an operation is DONE when the wait times out', async () => {
    const slow = await startGceFake({ tickMs: 60_000, waitTimeoutMs: 50 });
    try {
      const env = slow.writeCredentials(join(dir, 'slow'));
      const sc = clients(slow, env.GOOGLE_APPLICATION_CREDENTIALS);
      const [op] = await sc.instances.insert({
        project: slow.project,
        zone: ZONE,
        instanceResource: instanceBody('slow'),
      });
      const [waited] = await sc.zoneOps.wait({
        project: slow.project,
        zone: ZONE,
        operation: op.latestResponse.name,
      });
      expect(waited.status).toBe('PENDING');
    } finally {
      await slow.stop();
    }
  });
});
