// Autoscaling figures for `pnpm bench cluster` (bench/cluster.mjs requires it under tsx's
// CommonJS hook, like cluster-ready.cts). On the simulated cloud, the real CLI launches a
// leader with one elastic node group (`-w 0-3`, t2.medium: 2 cores each, 20 s idle time), then
// a workflow of 20 jobs (1 core, 3 s each) runs on the leader through ssh-cluster. A watcher on
// the leader records Slurm's queue every 0.2 s; the simulated cloud records when each worker
// node exists. Rows: from the first job waiting (no node up) to a node running it; the
// node-hours the run used (every worker from its instance's start until it is gone, idle time
// included) against the least it needed (the jobs' core-seconds packed on 2-core nodes).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI_BIN, REPO_ROOT } from '../tooling/test-env/cli';
import { awsLaunchArgs, leftAfterDestroy } from '../tooling/test-env/simcloud/index';
import { check, REGION, runSimCloudBench } from './simcloud-bench.cjs';

const JOBS = 20;
const SECONDS = 3;
const NODE_CORES = 2;

/** Prints `EPOCH JOBID STATE` for every change of Slurm's queue, until killed. */
const WATCH = `prev=""
while true; do
  now=$(date +%s.%N)
  cur=$(squeue -h -t all -o '%i %T' | sort)
  if [ "$cur" != "$prev" ]; then printf '%s\\n' "$cur" | sed "s/^/$now /"; prev=$cur; fi
  sleep 0.2
done`;

runSimCloudBench('bench-scale', async ({ cloud, launcher, subnet, toilPackage, toil }) => {
  const name = 'bench-scale';
  const where = ['--zone', subnet.zone, '--sshKey', launcher.key];
  check(
    'launch-cluster',
    await toil(
      awsLaunchArgs(name, {
        nodeTypes: 't2.medium',
        workers: '0-3',
        keyPairName: 'bench-scale',
        sshKey: launcher.key,
        subnet,
        more: ['--nodeIdleTime', '20s', '--toilPackage', toilPackage],
      }),
    ),
  );
  const leader = cloud.nodes()[0]!.instanceId;
  check(
    'rsync-cluster',
    await toil([
      'rsync-cluster',
      ...where,
      name,
      join(REPO_ROOT, 'tooling', 'test-env', 'workflows', 'fanout.ts'),
      ':fanout.ts',
    ]),
  );
  // Worker nodes: when each was first and last seen on this machine.
  const seen = new Map<string, { first: number; last: number }>();
  const look = () => {
    const now = Date.now() / 1000;
    for (const node of cloud.nodes()) {
      if (node.instanceId === leader) continue;
      const entry = seen.get(node.instanceId) ?? { first: now, last: now };
      entry.last = now;
      seen.set(node.instanceId, entry);
    }
  };
  const timer = setInterval(look, 250);
  const watcher = spawn(
    process.execPath,
    [CLI_BIN, 'ssh-cluster', ...where, name, 'bash', '-c', WATCH],
    { cwd: launcher.home, env: { ...process.env, NO_COLOR: '1', ...launcher.env } },
  );
  let queue = '';
  watcher.stdout.on('data', (d: Buffer) => (queue += d.toString()));
  const run = await toil([
    'ssh-cluster',
    ...where,
    name,
    'toil',
    'run',
    'fanout.ts',
    `aws:${REGION}:${name}-store`,
    '--batchSystem',
    'slurm',
    '--jobs',
    String(JOBS),
    '--seconds',
    String(SECONDS),
  ]);
  check('toil run fanout.ts on the leader', run);
  watcher.kill('SIGTERM');
  // Shrinking back: every worker gone after the idle time.
  await cloud.waitFor('no worker', () => (look(), cloud.nodes().length === 1), 300_000);
  clearInterval(timer);
  look();

  // The first job (the root) waited with no node up; when did it first run?
  const events = queue
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((f) => f.length === 3)
    .map(([at, id, state]) => ({ at: Number(at), id: id!, state: state! }));
  const first = events.find((e) => e.id === '1');
  const running = events.find((e) => e.id === '1' && e.state === 'RUNNING');
  if (!first || !running) throw new Error(`the watcher did not see job 1 run:\n${queue}`);
  const nodeSeconds = [...seen.values()].reduce((sum, s) => sum + (s.last - s.first), 0);
  const neededSeconds = (JOBS * SECONDS) / NODE_CORES;
  check('destroy-cluster', await toil(['destroy-cluster', name, '--zone', subnet.zone]));
  const left = await leftAfterDestroy(cloud, REGION);
  if (left.instances.length + left.namespaces.length > 0)
    throw new Error(`destroy-cluster left ${JSON.stringify(left)}`);
  const rows = [
    {
      name: 'autoscaling: from a job waiting (no worker up) to a new node running it',
      value: running.at - first.at,
      unit: 's',
      note: `Slurm's queue on the leader every 0.2 s: the root job first seen ${first.state} until RUNNING; Slurm's ResumeProgram starts an instance, stage 2 sets it up (bundle, munge, slurmd -N)`,
    },
    {
      name: `autoscaling: node-hours a ${JOBS}-job run used (-w 0-3, ${SECONDS} s jobs, 20 s idle time)`,
      value: Number((nodeSeconds / 3600).toFixed(4)),
      unit: 'node-h',
      note: `${seen.size} worker(s) started, ${nodeSeconds.toFixed(0)} node-s from instance start to gone (boot, stage 2, idle time and suspend included)`,
    },
    {
      name: `autoscaling: node-hours the ${JOBS} jobs needed at least`,
      value: Number((neededSeconds / 3600).toFixed(4)),
      unit: 'node-h',
      note: `${JOBS} x ${SECONDS} s x 1 core on ${NODE_CORES}-core nodes, perfectly packed; used/needed = ${(nodeSeconds / neededSeconds).toFixed(1)}`,
    },
  ];
  return rows;
});
