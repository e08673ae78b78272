import {
  CreateTagsCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import * as compute from '@google-cloud/compute';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCliBundle } from '../cli-bundle.js';
import { CLI_BIN, expectOk, REPO_ROOT, runToil } from '../cli.js';
import {
  awsLaunchArgs,
  gceLaunchArgs,
  leftAfterDestroy,
  prepareAwsLauncher,
  useSimCloud,
  writeAwsEnv,
} from '../simcloud/index.js';

const sim = useSimCloud('the seed page end to end on the simulated cloud');
const REGION = 'us-west-2';

/** A workflow whose one job waits until the file `gate` exists in the home directory. */
const GATED_WORKFLOW = `import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Toil } from '@toil/workflow';

export class WaitForGate extends Job {
  override async run(): Promise<void> {
    console.log('waiting for the gate');
    while (!existsSync(join(homedir(), 'gate'))) await sleep(100);
  }
}

async function main(): Promise<void> {
  await using toil = new Toil(Job.Runner.getDefaultOptions());
  await toil.start(new WaitForGate());
}

Job.Runner.main(import.meta.url, main);
`;

sim.describe('the seed page on a launched cluster', () => {
  let home: string;
  let key: string;
  let env: Record<string, string>;
  let zone: string;
  let cluster: string | undefined;
  let gceCluster: string | undefined;

  /** The CLI as the user runs it, from the user's home and with the cluster's zone. */
  const toil = (args: string[], cwd = home) => runToil(args, { env, cwd });
  const rsync = (...args: string[]) =>
    toil(['rsync-cluster', '--zone', zone, '--sshKey', key, cluster!, ...args]);
  const onLeader = (...command: string[]) =>
    toil(['ssh-cluster', '--zone', zone, '--sshKey', key, cluster!, ...command]);

  beforeAll(async () => {
    ({ home, key, env } = await prepareAwsLauncher(REGION, 'seed-key'));
    await buildCliBundle(join(home, 'toil-bundle'));
  }, 180_000);

  afterAll(async () => {
    // A failed test must not leave the cluster behind (useSimCloud then removes the nodes).
    if (cluster) await toil(['destroy-cluster', cluster, '--zone', zone]);
    if (gceCluster)
      await toil(['destroy-cluster', '--provisioner', 'gce', '--zone', sim.gce().zone, gceCluster]);
    rmSync(home, { recursive: true, force: true });
  }, 120_000);

  it('launch-cluster brings Slurm up over SSH, the example workflow runs there on the workers, stats and a result come back, destroy-cluster leaves nothing', async () => {
    const cloud = sim.cloud();
    const subnet = await sim.aws().subnet(REGION);
    zone = subnet.zone;
    const name = `seed-${process.pid}`;
    cluster = name;
    const store = `aws:${REGION}:${name}-store`;

    // 1. launch: leader + 2 workers, toil pushed from the local bundle (no registry here).
    const launched = await toil(
      awsLaunchArgs(name, {
        workers: '2',
        keyPairName: 'seed-key',
        sshKey: key,
        subnet,
        more: ['--toilPackage', join(home, 'toil-bundle')],
      }),
    );
    expectOk(launched);
    expect(launched.stdout).toContain(`Cluster ${name} created`);
    const nodes = cloud.nodes();
    expect(nodes).toHaveLength(3);
    const ec2 = new EC2Client({ region: REGION });
    const described = (
      await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'tag:clusterName', Values: [name] }],
        }),
      )
    ).Reservations!.flatMap((r) => r.Instances!);
    const roleOf = (id: string) =>
      described.find((i) => i.InstanceId === id)!.Tags!.find((t) => t.Key === 'ToilNodeType')!
        .Value;
    const leader = nodes.find((n) => roleOf(n.instanceId) === 'leader')!;
    const workers = nodes.filter((n) => n !== leader);

    // The munge key: the same on every node, mode 0400 owned by munge, and nowhere else.
    const keys = new Set<string>();
    for (const node of nodes) {
      const stat = await cloud.exec(node.instanceId, [
        'bash',
        '-c',
        'stat -c "%a %U" /etc/munge/munge.key && base64 -w0 /etc/munge/munge.key',
      ]);
      const [mode, encoded] = stat.stdout.split('\n');
      expect(mode).toBe('400 munge');
      keys.add(encoded!);
    }
    expect(keys.size).toBe(1);
    const mungeKey = [...keys][0]!;
    const mungeHex = Buffer.from(mungeKey, 'base64').toString('hex');
    for (const text of [launched.stdout, launched.stderr]) {
      expect(text).not.toContain(mungeKey);
      expect(text).not.toContain(mungeHex.slice(0, 32));
    }
    for (const node of nodes) {
      const userData = await ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: node.instanceId,
          Attribute: 'userData',
        }),
      );
      const text = Buffer.from(userData.UserData?.Value ?? '', 'base64').toString('utf8');
      expect(text).toContain('#cloud-config');
      expect(text).not.toContain(mungeKey);
    }

    // 2. ssh-cluster and rsync-cluster reach the leader with the host keys from its console.
    const exit = await onLeader('bash', '-c', 'echo out; echo err >&2; exit 7');
    expect([exit.code, exit.stdout, exit.stderr]).toEqual([7, 'out\n', 'err\n']);
    const sinfo = await onLeader('sinfo', '-h', '-N', '-o', '%N %t');
    expect(sinfo.stdout.trim().split('\n').sort()).toEqual(
      workers.map((w) => `${w.hostname} idle`).sort(),
    );
    const copied = await rsync(
      join(REPO_ROOT, 'examples', 'discoverfiles.ts'),
      ':discoverfiles.ts',
    );
    expectOk(copied);

    // A key that is not the pinned one is refused (and --insecure is the only way past it).
    const pinned = described
      .find((i) => i.InstanceId === leader.instanceId)!
      .Tags!.filter((t) => t.Key!.startsWith('toil-ts:host-key:'));
    expect(pinned.length).toBeGreaterThan(0);
    await ec2.send(
      new CreateTagsCommand({
        Resources: [leader.instanceId],
        Tags: pinned.map((t) => ({
          Key: t.Key,
          Value: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        })),
      }),
    );
    const refused = await onLeader('true');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not one of the keys pinned at launch');
    await ec2.send(new CreateTagsCommand({ Resources: [leader.instanceId], Tags: pinned }));

    // 3. The seed's workflow on the cluster: Slurm places its jobs on the workers.
    const run = await onLeader(
      'toil',
      'run',
      'discoverfiles.ts',
      store,
      '--batchSystem',
      'slurm',
      '--stats',
    );
    expectOk(run);
    const placed = await onLeader('squeue', '-h', '-t', 'all', '-o', '%N');
    const hosts = placed.stdout.trim().split('\n');
    expect(hosts).toHaveLength(3);
    for (const host of hosts) expect(workers.map((w) => w.hostname)).toContain(host);

    // 4. toil stats there shows the seed's table; --json after CLUSTER belongs to the command.
    const stats = await onLeader('toil', 'stats', store);
    expectOk(stats);
    for (const line of ['Batch System: slurm', 'Worker', 'Job', 'sysFiles', 'userFiles'])
      expect(stats.stdout).toContain(line);
    const json = await onLeader('toil', 'stats', store, '--json', '--outputFile', 'stats.json');
    expectOk(json);
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'toil-ts/stats' });

    // 5. A result comes back with rsync-cluster.
    const back = join(home, 'results');
    mkdirSync(back);
    const fetched = await rsync(':stats.json', `${back}/`);
    expectOk(fetched);
    expect(JSON.parse(readFileSync(join(back, 'stats.json'), 'utf8'))).toEqual(
      JSON.parse(json.stdout),
    );

    // 5b. A run that survives the connection (ssh-cluster --detach): a watching client is
    // killed mid-run, the run goes on, and attaching again follows it to its end.
    const gated = join(home, 'gated.ts');
    writeFileSync(gated, GATED_WORKFLOW);
    expectOk(await rsync(gated, ':gated.ts'));
    const detached = await onLeader('--detach', 'toil', 'run', 'gated.ts', 'file:gated-store');
    expectOk(detached);
    expect(detached.stdout).toContain('Started detached run run-1 on the leader');
    expect(detached.stdout).toContain(`${cluster} --attach run-1`);
    const watcher = spawn(
      process.execPath,
      [CLI_BIN, 'ssh-cluster', '--zone', zone, '--sshKey', key, name, '--attach'],
      {
        cwd: home,
        env: { ...process.env, ...env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let watched = '';
    let watcherErr = '';
    watcher.stderr.on('data', (chunk: Buffer) => (watcherErr += chunk.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      watcher.stdout.on('data', (chunk: Buffer) => {
        watched += chunk.toString('utf8');
        if (watched.includes('Running toil-ts')) resolve();
      });
      watcher.on('exit', (code) =>
        reject(new Error(`--attach exited ${code} early:\n${watched}\n${watcherErr}`)),
      );
    });
    watcher.kill('SIGKILL');
    expect(watched).toContain('Running toil-ts');
    expect((await onLeader('tmux', 'has-session', '-t', '=toil-run-1')).code).toBe(0);
    expectOk(await onLeader('touch', 'gate'));
    const attached = await onLeader('--attach', 'run-1');
    expectOk(attached);
    expect(attached.stdout).toContain('Finished toil run successfully.');
    expect(attached.stderr).toContain('Run run-1 exited with status 0.');

    // 6. destroy-cluster: nothing left in moto, no node on this machine.
    const destroyed = await toil(['destroy-cluster', name, '--zone', zone]);
    expectOk(destroyed);
    cluster = undefined;
    ec2.destroy();
    expect(await leftAfterDestroy(cloud, REGION)).toEqual({ instances: [], namespaces: [] });
  }, 900_000);
  it('with --provisioner gce: launch-cluster brings Slurm up over SSH, the workflow runs on the workers with an aws: job store whose credentials the user brings, stats and a result come back, destroy-cluster leaves nothing', async () => {
    const cloud = sim.cloud();
    const { fake, zone: gceZone } = sim.gce();
    const name = `gseed-${process.pid}`;
    gceCluster = name;
    const where = ['--provisioner', 'gce', '--zone', gceZone];
    const ssh = (...command: string[]) =>
      toil(['ssh-cluster', ...where, '--sshKey', key, name, ...command]);
    const rsyncGce = (...args: string[]) =>
      toil(['rsync-cluster', ...where, '--sshKey', key, name, ...args]);

    const launched = await toil(
      gceLaunchArgs(name, {
        zone: gceZone,
        nodeTypes: 'e2-standard-2',
        workers: '2',
        sshKey: key,
        toilPackage: join(home, 'toil-bundle'),
      }),
    );
    expectOk(launched);
    expect(launched.stdout).toContain(`Cluster ${name} created`);
    const nodes = cloud.nodes().filter((n) => n.source === 'gce');
    expect(nodes).toHaveLength(3);
    const workers = nodes.filter((n) => n.hostname !== `${name}-leader`);
    expect(workers).toHaveLength(2);
    // The host keys pinned in the instances' metadata are the nodes' own (from the console).
    for (const view of fake.instances()) {
      const pinned = JSON.parse(view.metadata['toil-host-keys']!) as { sha256: string }[];
      expect(pinned.map((k) => k.sha256).sort()).toEqual(
        cloud
          .node(view.id)!
          .hostKeys.map((k) => k.fingerprint)
          .sort(),
      );
    }
    const hello = await ssh('sh', '-c', 'hostname && id -un; exit 7');
    expect([hello.code, hello.stdout]).toEqual([7, `${name}-leader\ngceuser\n`]);
    const sinfo = await ssh('sinfo', '-h', '-N', '-o', '%N %t');
    expect(sinfo.stdout.trim().split('\n').sort()).toEqual(
      workers.map((w) => `${w.hostname} idle`).sort(),
    );

    // Compute Engine nodes have no AWS identity: the user brings the aws: job store's
    // credentials in a file (mode 0600) that the workflow's shell reads; Slurm passes the
    // leader's environment on to the jobs on the workers. (The endpoint stands in for S3.)
    const credentials = join(home, 'aws.env');
    writeAwsEnv(credentials, sim.aws().nodeEndpoint, REGION);
    expectOk(await rsyncGce('-a', credentials, ':aws.env'));
    expectOk(await rsyncGce(join(REPO_ROOT, 'examples', 'discoverfiles.ts'), ':discoverfiles.ts'));
    const store = `aws:${REGION}:${name}-store`;
    const withCredentials = (command: string) =>
      ssh('bash', '-c', `set -a && . ./aws.env && set +a && ${command}`);
    expectOk(
      await withCredentials(`toil run discoverfiles.ts ${store} --batchSystem slurm --stats`),
    );
    const placed = await ssh('squeue', '-h', '-t', 'all', '-o', '%N');
    const hosts = placed.stdout.trim().split('\n');
    expect(hosts).toHaveLength(3);
    for (const host of hosts) expect(workers.map((w) => w.hostname)).toContain(host);
    const json = await withCredentials(`toil stats ${store} --json --outputFile stats.json`);
    expectOk(json);
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'toil-ts/stats' });
    const back = join(home, 'gce-results');
    mkdirSync(back);
    expectOk(await rsyncGce(':stats.json', `${back}/`));
    expect(JSON.parse(readFileSync(join(back, 'stats.json'), 'utf8'))).toEqual(
      JSON.parse(json.stdout),
    );

    // A pinned key the leader does not have: ssh-cluster refuses to connect.
    const url = new URL(process.env.TOIL_GCE_ENDPOINT!);
    const options = { apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http' };
    const instances = new compute.InstancesClient(options);
    const zoneOps = new compute.ZoneOperationsClient(options);
    try {
      const leaderRef = { project: fake.project, zone: gceZone, instance: `${name}-leader` };
      const [leader] = await instances.get(leaderRef);
      const wrong = [{ algorithm: 'ssh-ed25519', sha256: `SHA256:${'A'.repeat(43)}` }];
      const items = leader.metadata!.items!.map((i) =>
        i.key === 'toil-host-keys' ? { key: i.key, value: JSON.stringify(wrong) } : i,
      );
      const [op] = await instances.setMetadata({
        ...leaderRef,
        metadataResource: { fingerprint: leader.metadata!.fingerprint, items },
      });
      await zoneOps.wait({
        project: fake.project,
        zone: gceZone,
        operation: op.latestResponse.name,
      });
    } finally {
      await Promise.all([instances.close(), zoneOps.close()]);
    }
    const refused = await ssh('true');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not one of the keys pinned at launch');

    const destroyed = await toil(['destroy-cluster', ...where, name]);
    expectOk(destroyed);
    gceCluster = undefined;
    await cloud.waitFor('no GCE node', () => cloud.nodesInFlight('gce') === 0);
    expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });
  }, 900_000);
});
