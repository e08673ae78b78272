import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as compute from '@google-cloud/compute';
import { runToil } from '../../../tooling/test-env/cli.js';
import { useSimCloud } from '../../../tooling/test-env/simcloud/index.js';

// The built CLI with --provisioner gce against the Compute Engine fake under the simulated
// cloud: every instance is a real node (network namespace, sshd, stage 1 from its user-data),
// its serial port output is the node's console, and the environment is what a user sets
// (GOOGLE_APPLICATION_CREDENTIALS, TOIL_GCE_ENDPOINT; the project comes from the credentials).
// Launch runs with --bootstrap none: stage 1 only, no stage 2.

const sim = useSimCloud('the GCE cluster commands on the simulated cloud');

sim.describe(
  'toil launch-cluster / ssh-cluster / rsync-cluster / destroy-cluster --provisioner gce on real nodes',
  () => {
    let home: string;
    let key: string;

    beforeAll(() => {
      home = mkdtempSync(join(tmpdir(), 'gce-simcloud-'));
      mkdirSync(join(home, '.ssh'), { mode: 0o700 });
      key = join(home, '.ssh', 'id_ed25519');
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    });
    afterAll(() => rmSync(home, { recursive: true, force: true }));

    it('launches a leader and a worker whose host keys are pinned from their serial output, runs commands and copies files both ways on the leader with the keys checked, refuses a changed key, and destroy leaves no instance, disk, firewall rule or node', async () => {
      const cloud = sim.cloud();
      const { fake, zone } = sim.gce();
      const env = { HOME: home };
      const where = ['--provisioner', 'gce', '--zone', zone];
      const name = `gsim-${process.pid}`;
      const launched = await runToil(
        [
          'launch-cluster',
          name,
          ...where,
          '--leaderNodeType',
          'e2-standard-2',
          '--nodeTypes',
          'e2-small',
          '-w',
          '1',
          '--keyPairName',
          'gceuser',
          '--sshKey',
          key,
          '--no-externalAddress',
          '--bootstrap',
          'none',
        ],
        { env },
      );
      expect(launched.stderr).not.toMatch(/error|GCE_NO_PUBLIC_ADDRESS/i);
      expect(launched.code).toBe(0);
      expect(launched.stdout).toMatch(
        new RegExp(
          `^Cluster ${name} created: leader \\d+ \\(e2-standard-2\\) at 10\\.[\\d.]+ as gceuser; 1 x e2-small\\.`,
          'm',
        ),
      );
      const nodes = cloud.nodes().filter((n) => n.source === 'gce');
      expect(nodes.map((n) => n.hostname).sort()).toEqual(
        fake
          .instances()
          .map((i) => i.name)
          .sort(),
      );
      for (const view of fake.instances()) {
        const node = cloud.node(view.id)!;
        expect([node.address, node.users, view.accessConfigs]).toEqual([
          view.networkIP,
          ['gceuser'],
          [],
        ]);
        const pinned = JSON.parse(view.metadata['toil-host-keys']!) as { sha256: string }[];
        expect(pinned.map((k) => k.sha256).sort()).toEqual(
          node.hostKeys.map((k) => k.fingerprint).sort(),
        );
      }

      const ssh = (...args: string[]) =>
        runToil(['ssh-cluster', ...where, '--sshKey', key, name, ...args], { env });
      const hello = await ssh('sh', '-c', 'hostname && id -un && cat /etc/toil-ts/cluster');
      expect([hello.code, hello.stdout]).toEqual([0, `${name}-leader\ngceuser\n${name}\n`]);
      expect((await ssh('exit', '7')).code).toBe(7);

      const local = join(home, 'data.txt');
      writeFileSync(local, 'from the launcher\n');
      const push = await runToil(
        ['rsync-cluster', ...where, '--sshKey', key, name, '-a', local, ':pushed.txt'],
        { env },
      );
      expect(push.code).toBe(0);
      expect((await ssh('cat', 'pushed.txt')).stdout).toBe('from the launcher\n');
      const back = join(home, 'back.txt');
      const pull = await runToil(
        ['rsync-cluster', ...where, '--sshKey', key, name, ':pushed.txt', back],
        { env },
      );
      expect(pull.code).toBe(0);
      expect(readFileSync(back, 'utf8')).toBe('from the launcher\n');

      // Pin a key the leader does not have: ssh-cluster must refuse to connect.
      const url = new URL(process.env.TOIL_GCE_ENDPOINT!);
      const options = { apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http' };
      const instances = new compute.InstancesClient(options);
      const zoneOps = new compute.ZoneOperationsClient(options);
      const [leader] = await instances.get({
        project: fake.project,
        zone,
        instance: `${name}-leader`,
      });
      const items = leader.metadata!.items!.map((i) =>
        i.key === 'toil-host-keys'
          ? {
              key: i.key,
              value: JSON.stringify([
                {
                  algorithm: 'ssh-ed25519',
                  sha256: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
                },
              ]),
            }
          : i,
      );
      const [op] = await instances.setMetadata({
        project: fake.project,
        zone,
        instance: `${name}-leader`,
        metadataResource: { fingerprint: leader.metadata!.fingerprint, items },
      });
      await zoneOps.wait({ project: fake.project, zone, operation: op.latestResponse.name });
      instances.close();
      zoneOps.close();
      const refused = await ssh('true');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/host key/i);

      const destroyed = await runToil(['destroy-cluster', ...where, name], { env });
      expect(destroyed.code).toBe(0);
      expect(destroyed.stdout).toContain(`Cluster ${name} is now gone.`);
      await cloud.waitFor('no GCE node', () => cloud.nodes().every((n) => n.source !== 'gce'));
      expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });
    }, 300_000);
  },
);
