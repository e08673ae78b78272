// Launch-to-ready figures for `pnpm bench cluster` (bench/cluster.mjs requires it under tsx's
// CommonJS hook, so that the test tooling it uses finds its scripts with __dirname). On the simulated cloud (moto's EC2 whose instances are real
// nodes: network namespaces with their own sshd, see tooling/test-env/simcloud), the real CLI
// launches a leader + WORKERS workers with stage 2 and reports when its output said every worker
// accepts SSH with its host key pinned from its console (the leader is set up first, as launch
// does it) and when it returned with Slurm up (checked: sinfo on the leader shows every worker
// idle), then destroys the cluster. Prints one JSON line of rows.
import { spawn } from 'node:child_process';
import { CLI_BIN, type CommandResult } from '../tooling/test-env/cli';
import { awsLaunchArgs, leftAfterDestroy } from '../tooling/test-env/simcloud/index';
import { check, REGION, runSimCloudBench } from './simcloud-bench.cjs';

const WORKERS = Number(process.env.BENCH_CLUSTER_WORKERS ?? 10);

runSimCloudBench('bench-ready', async ({ cloud, launcher, subnet, toilPackage, toil }) => {
  /** Runs launch-cluster; seconds until each output line matching `marks` and until it exits. */
  const launch = (name: string, marks: RegExp) =>
    new Promise<{ marked?: number; total: number; result: CommandResult }>((done, fail) => {
      const started = performance.now();
      let marked: number | undefined;
      let stdout = '';
      let stderr = '';
      const child = spawn(
        process.execPath,
        [
          CLI_BIN,
          ...awsLaunchArgs(name, {
            workers: String(WORKERS),
            keyPairName: 'bench-ready',
            sshKey: launcher.key,
            subnet,
            more: ['--toilPackage', toilPackage],
          }),
        ],
        { cwd: launcher.home, env: { ...process.env, NO_COLOR: '1', ...launcher.env } },
      );
      const watch = (chunk: Buffer, into: 'out' | 'err') => {
        const text = chunk.toString();
        if (into === 'out') stdout += text;
        else stderr += text;
        if (marked === undefined && marks.test(text)) marked = (performance.now() - started) / 1000;
      };
      child.stdout.on('data', (d: Buffer) => watch(d, 'out'));
      child.stderr.on('data', (d: Buffer) => watch(d, 'err'));
      child.on('error', fail);
      child.on('close', (code, signal) =>
        done({
          marked,
          total: (performance.now() - started) / 1000,
          result: { code, signal, stdout, stderr },
        }),
      );
    });
  const destroy = async (name: string): Promise<void> => {
    check(`destroy-cluster ${name}`, await toil(['destroy-cluster', name, '--zone', subnet.zone]));
    const left = await leftAfterDestroy(cloud, REGION);
    if (left.instances.length + left.namespaces.length > 0)
      throw new Error(`destroy-cluster ${name} left ${JSON.stringify(left)}`);
  };

  const launched = await launch('bench-slurm', /\d+ worker\(s\) of \S+ running/);
  check('launch-cluster bench-slurm', launched.result);
  if (launched.marked === undefined)
    throw new Error(
      `launch-cluster printed no "worker(s) ... running" line:\n${launched.result.stderr}`,
    );
  const sinfo = await toil([
    'ssh-cluster',
    '--zone',
    subnet.zone,
    '--sshKey',
    launcher.key,
    'bench-slurm',
    'sinfo',
    '-h',
    '-N',
    '-t',
    'idle',
    '-o',
    '%N',
  ]);
  check('sinfo on the leader', sinfo);
  const idle = sinfo.stdout.trim().split('\n').filter(Boolean).length;
  if (idle !== WORKERS) throw new Error(`sinfo shows ${idle} idle workers, not ${WORKERS}`);
  await destroy('bench-slurm');

  const rows = [
    {
      name: `launch-cluster leader + ${WORKERS} workers on the simulated cloud, until every worker accepts SSH with its pinned host key`,
      value: launched.marked,
      unit: 's',
      note: 'the real CLI from its start; the leader is set up (stage 2) before the workers start, as launch does it; nodes are network namespaces with their own sshd',
    },
    {
      name: `launch-cluster leader + ${WORKERS} workers on the simulated cloud, until Slurm has every worker idle (stage 2, --toilPackage bundle)`,
      value: launched.total,
      unit: 's',
      note: `stage 2 on ${WORKERS + 1} nodes over SSH: toil bundle, munge key, slurm.conf, daemons; sinfo then showed ${idle} idle`,
    },
  ];
  return rows;
});
