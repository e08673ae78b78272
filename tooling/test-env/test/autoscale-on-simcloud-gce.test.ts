import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCliBundle } from '../cli-bundle.js';
import { expectOk, REPO_ROOT, runToil } from '../cli.js';
import type { FakeInstanceView } from '../gce-fake.js';
import { gceLaunchArgs, prepareAwsLauncher, useSimCloud, writeAwsEnv } from '../simcloud/index.js';

// The GCE side of autoscale-on-simcloud.test.ts, kept to one workflow (CI's budget): the
// leader's power saving calls the Compute Engine fake with the credentials its login has (as
// a VM's service account would give it), starts nodes for Slurm and deletes them when idle.

const sim = useSimCloud('an autoscaling cluster on the simulated Compute Engine');
const REGION = 'us-west-2';

sim.describe('a GCE cluster launched with an elastic node group (-w 0-2)', () => {
  let home: string;
  let key: string;
  let env: Record<string, string>;
  let cluster: string | undefined;
  let leader = '';
  /** The name of every instance the fake ever had for the cluster. */
  const seen = new Set<string>();
  const watch = (view: FakeInstanceView) => {
    if (cluster && view.labels['toil-cluster'] === cluster) seen.add(view.name);
  };

  const where = () => ['--provisioner', 'gce', '--zone', sim.gce().zone];
  const toil = (args: string[]) => runToil(args, { env, cwd: home });
  const onLeader = (...command: string[]) =>
    toil(['ssh-cluster', ...where(), '--sshKey', key, cluster!, ...command]);
  /** The cluster's simulated nodes other than the leader. */
  const workers = () =>
    sim
      .cloud()
      .nodes()
      .filter((n) => n.source === 'gce' && n.hostname !== leader);
  const sinfo = async () =>
    (await onLeader('sinfo', '-h', '-N', '-o', '%N %t')).stdout.trim().split('\n').sort();

  beforeAll(async () => {
    ({ home, key, env } = await prepareAwsLauncher(REGION, 'gce-autoscale-key'));
    await buildCliBundle(join(home, 'toil-bundle'));
    sim.gce().fake.on('instance-status', watch);
    cluster = `gscale-${process.pid}`;
    leader = `${cluster}-leader`;
    expectOk(
      await toil(
        gceLaunchArgs(cluster, {
          zone: sim.gce().zone,
          nodeTypes: 'e2-small',
          workers: '0-2',
          sshKey: key,
          toilPackage: join(home, 'toil-bundle'),
          more: ['--nodeIdleTime', '20s'],
        }),
      ),
    );
    // The aws: job store's credentials, which the user brings to a GCE cluster (moto's S3).
    const credentials = join(home, 'aws.env');
    writeAwsEnv(credentials, sim.aws().nodeEndpoint, REGION);
    for (const [from, to] of [
      [credentials, ':aws.env'],
      [join(REPO_ROOT, 'tooling', 'test-env', 'workflows', 'fanout.ts'), ':fanout.ts'],
    ])
      expectOk(
        await toil(['rsync-cluster', ...where(), '--sshKey', key, cluster, '-a', from!, to!]),
      );
  }, 600_000);

  afterAll(async () => {
    sim.gce().fake.off('instance-status', watch);
    if (cluster) await toil(['destroy-cluster', ...where(), cluster]);
    rmSync(home, { recursive: true, force: true });
  }, 180_000);

  it('starts with no workers: its nodes are powered-down Slurm cloud nodes', async () => {
    expect(workers()).toEqual([]);
    expect(await sinfo()).toEqual(['w0-0 idle~', 'w0-1 idle~']);
  });

  it('a workflow of 4 jobs grows the cluster to at most 2 workers, completes, and the cluster shrinks back to none after the idle time, every instance started for it deleted', async () => {
    let most = 0;
    const count = setInterval(() => (most = Math.max(most, workers().length)), 250);
    try {
      expectOk(
        await onLeader(
          'bash',
          '-c',
          `set -a && . ./aws.env && set +a && toil run fanout.ts aws:${REGION}:${cluster}-fanout --provisioner gce --nodeTypes e2-small --maxNodes 2 --jobs 4 --seconds 3`,
        ),
      );
    } finally {
      clearInterval(count);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    const placed = (await onLeader('squeue', '-h', '-t', 'all', '-o', '%N')).stdout
      .trim()
      .split('\n');
    for (const node of placed) expect(node).toMatch(/^w0-[01]$/);
    // Started for Slurm's node names, as their instance names and labels say.
    const started = [...seen].filter((name) => name !== leader);
    expect(started.length).toBeGreaterThan(0);
    for (const name of started)
      expect(name).toMatch(new RegExp(`^${cluster}-w0-[01]-[0-9a-f]{6}$`));
    // Idle for 20 s: Slurm suspends the nodes and the leader deletes their instances.
    await sim.cloud().waitFor('no worker', () => workers().length === 0, 240_000);
    await sim
      .cloud()
      .waitFor('no worker in flight', () => sim.cloud().nodesInFlight('gce') === 1, 60_000);
    const live = sim
      .gce()
      .fake.instances()
      .filter((i) => i.labels['toil-cluster'] === cluster)
      .map((i) => i.name);
    expect(live).toEqual([leader]);
  }, 600_000);

  it('destroy-cluster counts the node-hours of the deleted workers too and leaves no instance and no node', async () => {
    const destroyed = await toil(['destroy-cluster', ...where(), cluster!]);
    expectOk(destroyed);
    cluster = undefined;
    const instances = Number(/node-hours over (\d+) instances?/.exec(destroyed.stdout)?.[1]);
    expect(instances).toBe(seen.size);
    await sim.cloud().waitFor('no GCE node', () => sim.cloud().nodesInFlight('gce') === 0);
    expect(sim.gce().fake.inventory()).toEqual({
      instances: [],
      disks: [],
      firewalls: [],
      networks: [],
    });
  }, 180_000);
});
