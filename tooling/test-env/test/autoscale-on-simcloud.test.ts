import {
  DescribeInstancesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCliBundle } from '../cli-bundle.js';
import { expectOk, REPO_ROOT, runToil, type CommandResult } from '../cli.js';
import {
  awsLaunchArgs,
  leftAfterDestroy,
  prepareAwsLauncher,
  useSimCloud,
} from '../simcloud/index.js';

const sim = useSimCloud('an autoscaling cluster on the simulated cloud');
const REGION = 'us-west-2';
const WORKFLOWS = join(REPO_ROOT, 'tooling', 'test-env', 'workflows');

/** The spot group's bid (Toil's `TYPE:BID`); moto fulfils every request, at its price $0.00001/h. */
const BID = '0.05';

sim.describe('a cluster launched with an elastic spot node group (-w 0-3)', () => {
  let home: string;
  let key: string;
  let env: Record<string, string>;
  let zone: string;
  let cluster: string | undefined;
  /** Every instance id the cloud ever had for the cluster, seen while the tests ran. */
  const seen = new Set<string>();

  const toil = (args: string[]) => runToil(args, { env, cwd: home });
  const onLeader = (...command: string[]) =>
    toil(['ssh-cluster', '--zone', zone, '--sshKey', key, cluster!, ...command]);
  const workers = () => {
    const nodes = sim.cloud().nodes();
    for (const n of nodes) seen.add(n.instanceId);
    return nodes.filter((n) => n.instanceId !== leaderId);
  };
  let leaderId = '';
  /** Slurm's view of the cloud nodes: `name state` lines. */
  const sinfo = async () =>
    (await onLeader('sinfo', '-h', '-N', '-o', '%N %t')).stdout.trim().split('\n').sort();

  beforeAll(async () => {
    ({ home, key, env } = await prepareAwsLauncher(REGION, 'autoscale-key'));
    await buildCliBundle(join(home, 'toil-bundle'));
    const subnet = await sim.aws().subnet(REGION);
    zone = subnet.zone;
    cluster = `scale-${process.pid}`;
    const launched = await toil(
      awsLaunchArgs(cluster, {
        nodeTypes: `t2.medium:${BID}`,
        workers: '0-3',
        keyPairName: 'autoscale-key',
        sshKey: key,
        subnet,
        more: ['--nodeIdleTime', '20s', '--toilPackage', join(home, 'toil-bundle')],
      }),
    );
    expectOk(launched);
    leaderId = sim.cloud().nodes()[0]!.instanceId;
    for (const file of ['fanout.ts', 'too-large.ts'])
      expectOk(
        await toil([
          'rsync-cluster',
          '--zone',
          zone,
          '--sshKey',
          key,
          cluster,
          join(WORKFLOWS, file),
          `:${file}`,
        ]),
      );
  }, 600_000);

  afterAll(async () => {
    if (cluster) await toil(['destroy-cluster', cluster, '--zone', zone]);
    rmSync(home, { recursive: true, force: true });
  }, 180_000);

  it('starts with no workers: its nodes are powered-down Slurm cloud nodes', async () => {
    expect(workers()).toEqual([]);
    expect(await sinfo()).toEqual(['w0-0 idle~', 'w0-1 idle~', 'w0-2 idle~']);
  });

  it('a job too large for every node type fails clearly, naming the largest type, and starts no node', async () => {
    const run = await onLeader(
      'toil',
      'run',
      'too-large.ts',
      `aws:${REGION}:${cluster}-large`,
      '--batchSystem',
      'slurm',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('asks for 64 cores');
    expect(run.stderr).toContain('t2.medium');
    expect(workers()).toEqual([]);
    expect(await sinfo()).toEqual(['w0-0 idle~', 'w0-1 idle~', 'w0-2 idle~']);
  }, 120_000);

  it('a workflow of 20 jobs grows the cluster to at most 3 spot workers, completes, toil status tells what they cost at the spot price, and the cluster shrinks back to none after the idle time', async () => {
    let most = 0;
    const store = `aws:${REGION}:${cluster}-fanout`;
    const watch = setInterval(() => (most = Math.max(most, workers().length)), 250);
    try {
      const run = await onLeader(
        'toil',
        'run',
        'fanout.ts',
        store,
        '--batchSystem',
        'slurm',
        '--jobs',
        '20',
        '--seconds',
        '3',
        // Kept for toil status below (Toil's default removes the store of a run that succeeded).
        '--clean',
        'never',
      );
      expectOk(run);
    } finally {
      clearInterval(watch);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    const placed = (await onLeader('squeue', '-h', '-t', 'all', '-o', '%N')).stdout
      .trim()
      .split('\n');
    for (const node of placed) expect(node).toMatch(/^w0-[0-2]$/);
    // The nodes' starts and their spot price are in the leader's node ledger, which the run read.
    const status = await onLeader('toil', 'status', store);
    expectOk(status);
    expect(status.stdout).toMatch(
      /^Cost of the cluster's elastic nodes during the run: \$0\.0\d+ \(t2\.medium spot \d+\.\d\d h at \$0\.00001\/h\)\.$/m,
    );
    // Idle for 20 s: Slurm suspends the nodes and the leader terminates their instances.
    await sim.cloud().waitFor('no worker', () => workers().length === 0, 240_000);
    await sim.cloud().waitFor('no node in flight', () => sim.cloud().nodesInFlight() === 1, 60_000);
    const ec2 = new EC2Client({ region: REGION });
    try {
      const instances = (
        await ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: 'tag:clusterName', Values: [cluster!] }],
          }),
        )
      ).Reservations!.flatMap((r) => r.Instances!);
      const live = instances.filter((i) => i.State?.Name !== 'terminated');
      expect(live.map((i) => i.InstanceId)).toEqual([leaderId]);
      expect(instances.length).toBeGreaterThan(1);
    } finally {
      ec2.destroy();
    }
  }, 600_000);

  it('a node the cloud takes back in the middle of a job: the job runs again on another node and the workflow completes', async () => {
    const store = `aws:${REGION}:${cluster}-lost`;
    const running = onLeader(
      'toil',
      'run',
      'fanout.ts',
      store,
      '--batchSystem',
      'slurm',
      '--jobs',
      '1',
      '--seconds',
      '25',
      '--retryCount',
      '2',
    );
    // The nap is running on a node: the cloud takes that node's instance back.
    let node = '';
    await sim.cloud().waitFor('a worker', () => workers().length > 0, 240_000);
    let ended: CommandResult | undefined;
    void running.then((result) => (ended = result));
    while (!node) {
      // A run that ends before its nap ran on a node fails here, with what it printed.
      if (ended) expectOk({ ...ended, code: ended.code === 0 ? -1 : ended.code });
      const jobs = (await onLeader('squeue', '-h', '-t', 'running', '-o', '%N %j')).stdout;
      node = /^(w0-\d+) \S*Nap/m.exec(jobs)?.[1] ?? '';
      if (!node) await new Promise((r) => setTimeout(r, 1000));
    }
    const ec2 = new EC2Client({ region: REGION });
    try {
      const victim = (
        await ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: 'tag:clusterName', Values: [cluster!] },
              { Name: 'tag:toil-ts:slurm-node', Values: [node] },
              { Name: 'instance-state-name', Values: ['running'] },
            ],
          }),
        )
      ).Reservations!.flatMap((r) => r.Instances!);
      expect(victim).toHaveLength(1);
      expect(victim[0]!.InstanceLifecycle).toBe('spot');
      // Meanwhile the run's summary (rewritten within seconds, so the node's state may lag) shows
      // the nodes, and what they cost so far: the node's start is in the ledger since before
      // its set-up began.
      const status = await onLeader('toil', 'status', store);
      expect(status.stdout).toMatch(/^Nodes: t2\.medium \d+ [a-z-]+/m);
      expect(status.stdout).toMatch(
        /^Cost of the cluster's elastic nodes so far: \$0\.0\d+ \(t2\.medium spot \d+\.\d\d h at \$0\.00001\/h\)\.$/m,
      );
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [victim[0]!.InstanceId!] }));
    } finally {
      ec2.destroy();
    }
    const run = await running;
    expectOk(run);
    const jobs = (await onLeader('squeue', '-h', '-t', 'all', '-o', '%N %T')).stdout;
    expect(jobs).toContain('NODE_FAIL');
    expect(jobs).toMatch(/COMPLETED/);
  }, 600_000);

  it('destroy-cluster leaves no instance and no node, and prints the node-hours and their cost', async () => {
    const destroyed = await toil(['destroy-cluster', cluster!, '--zone', zone]);
    expectOk(destroyed);
    // Spot workers at the spot price; moto does not serve the Price List API, so the on-demand
    // leader has no price, and the line says so instead of guessing one.
    expect(destroyed.stdout).toMatch(
      /^It ran \d+\.\d\d node-hours over \d+ instances \(.*t2\.medium \d+\.\d\d.*\), counting every instance the cloud still listed or the leader recorded\.\nCost: \$0\.0\d+ at the cloud's prices \(t2\.medium spot \d+\.\d\d h at \$0\.00001\/h\); no price for t3\.medium from the cloud's API \(the Price List API: .+\)\.$/m,
    );
    cluster = undefined;
    expect(await leftAfterDestroy(sim.cloud(), REGION)).toEqual({ instances: [], namespaces: [] });
  }, 180_000);
});
