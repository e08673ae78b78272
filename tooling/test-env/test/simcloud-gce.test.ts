import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as compute from '@google-cloud/compute';
import { consoleHostKeys, strictSsh, useSimCloud, writeKnownHosts } from '../simcloud/index.js';

// The real @google-cloud/compute client against the Compute Engine fake under the simulated
// cloud, configured through the environment useSimCloud sets (the standard Google auth chain
// and TOIL_GCE_ENDPOINT): inserted instances become real nodes.

const sim = useSimCloud('the Compute Engine instances of the simulated cloud');

function clients() {
  const url = new URL(process.env.TOIL_GCE_ENDPOINT!);
  const options = { apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http' };
  return {
    instances: new compute.InstancesClient(options),
    zoneOps: new compute.ZoneOperationsClient(options),
  };
}

function instanceBody(name: string, userData: string, nic: Record<string, unknown> = {}) {
  return {
    name,
    machineType: `zones/${sim.gce().zone}/machineTypes/e2-small`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
      },
    ],
    networkInterfaces: [{ network: 'global/networks/default', ...nic }],
    metadata: { items: [{ key: 'user-data', value: userData }] },
  };
}

sim.describe('Compute Engine instances on the simulated cloud', () => {
  let work: string;
  let key: string;
  let publicKey: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'simcloud-gce-test-'));
    key = join(work, 'id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('makes an instance inserted through the Compute Engine client a node at its networkIP that takes ssh as the user of its user-data, with the host keys on its serial port output, and removes it when the instance stops and when it is deleted', async () => {
    const { instances, zoneOps } = clients();
    const { fake, zone } = sim.gce();
    const project = fake.project;
    const wait = async (op: any) =>
      (await zoneOps.wait({ project, zone, operation: op.latestResponse.name }))[0];
    const userData = [
      '#cloud-config',
      'users:',
      '  - name: gceuser',
      '    sudo: ALL=(ALL) NOPASSWD:ALL',
      '    ssh_authorized_keys:',
      `      - ${publicKey}`,
      'runcmd:',
      "  - [sh, -c, 'echo stage-one-ran-on-$(hostname) > /dev/console']",
      '',
    ].join('\n');
    const [insert] = await instances.insert({
      project,
      zone,
      instanceResource: instanceBody('vm-one', userData),
    });
    expect((await wait(insert)).error).toBeFalsy();
    const [instance] = await instances.get({ project, zone, instance: 'vm-one' });
    const id = String(instance.id);
    const address = instance.networkInterfaces![0]!.networkIP!;
    expect(instance.networkInterfaces![0]!.accessConfigs ?? []).toEqual([]);
    expect(sim.cloud().inSubnet(address)).toBe(true);
    await sim.cloud().waitFor(`node for ${id}`, () => sim.cloud().node(id) !== undefined);
    expect(sim.cloud().node(id)).toMatchObject({ address, hostname: 'vm-one', users: ['gceuser'] });

    const [serial] = await instances.getSerialPortOutput({ project, zone, instance: 'vm-one' });
    const console = serial.contents!;
    expect(console).toContain('stage-one-ran-on-vm-one');
    const { fingerprints, publicKeys } = consoleHostKeys(console);
    const knownHosts = join(work, 'known_hosts');
    expect(writeKnownHosts(knownHosts, address, publicKeys)).toEqual([...fingerprints].sort());
    const ssh = (command: string) => strictSsh(key, knownHosts, `gceuser@${address}`, command);
    const session = await ssh('id -un; hostname; sudo -n id -un; ip -4 -o addr show eth0');
    const [user, host, root, eth0] = session.stdout.split('\n');
    expect([session.code, user, host, root]).toEqual([0, 'gceuser', 'vm-one', 'root']);
    expect(eth0).toContain(`${address}/24`);

    const netns = sim.cloud().node(id)!.netns;
    expect(
      (await wait((await instances.stop({ project, zone, instance: 'vm-one' }))[0])).error,
    ).toBeFalsy();
    await sim.cloud().waitFor(`removal of ${id}`, () => sim.cloud().node(id) === undefined);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(netns);
    expect((await ssh('true')).code).not.toBe(0);

    expect(
      (await wait((await instances.delete({ project, zone, instance: 'vm-one' }))[0])).error,
    ).toBeFalsy();
    expect(fake.inventory().instances).toEqual([]);
    await sim.cloud().reconcile();
    expect(sim.cloud().knows(id)).toBe(false);
    instances.close();
    zoneOps.close();
  });

  it('refuses loudly an insert that asks for an external address or names its own address, creating nothing', async () => {
    const { instances } = clients();
    const { fake, zone } = sim.gce();
    const problems = sim.cloud().problems.length;
    for (const [name, nic, why] of [
      ['vm-nat', { accessConfigs: [{ type: 'ONE_TO_ONE_NAT' }] }, /asks for an external address/],
      ['vm-ip', { networkIP: '192.0.2.10' }, /names its address 192\.0\.2\.10/],
    ] as const) {
      const error = await instances
        .insert({ project: fake.project, zone, instanceResource: instanceBody(name, '', nic) })
        .then(
          () => undefined,
          (e: Error) => e,
        );
      expect(JSON.parse(error!.message).error).toMatchObject({
        code: 400,
        errors: [{ reason: 'simCloudRefused' }],
      });
      expect(sim.cloud().problems.slice(problems).join('\n')).toMatch(why);
    }
    expect(fake.inventory().instances).toEqual([]);
    sim.cloud().problems.splice(problems);
    instances.close();
  });
});
