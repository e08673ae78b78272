// Launch-to-ready figures for `pnpm bench cluster` (bench/cluster.mjs requires it under tsx's
// CommonJS hook, so that the test tooling it uses finds its scripts with __dirname). On the simulated cloud (moto's EC2 whose instances are real
// nodes: network namespaces with their own sshd, see tooling/test-env/simcloud), the real CLI
// launches a leader + WORKERS workers twice: with `--bootstrap none` (until every node accepts
// SSH with its host key pinned from its console) and with stage 2 (until Slurm on the leader
// has every worker idle), destroying each cluster after it. Prints one JSON line of rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCliBundle } from '../tooling/test-env/cli-bundle';
import { runToil, type CommandResult } from '../tooling/test-env/cli';
import { startMoto } from '../tooling/test-env/moto';
import {
  attachAws,
  leftAfterDestroy,
  prepareAwsLauncher,
  simCloudUnavailableReason,
  startSimCloud,
} from '../tooling/test-env/simcloud/index';

const REGION = 'us-west-2';
const WORKERS = Number(process.env.BENCH_CLUSTER_WORKERS ?? 10);

function check(what: string, result: CommandResult): void {
  if (result.code !== 0)
    throw new Error(`${what} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
}

async function main(): Promise<void> {
  const reason = simCloudUnavailableReason();
  if (reason) {
    process.stdout.write(`${JSON.stringify({ skipped: reason })}\n`);
    return;
  }
  const moto = await startMoto();
  const cloud = await startSimCloud();
  const aws = await attachAws(cloud, moto);
  Object.assign(process.env, aws.env);
  const bundle = mkdtempSync(join(tmpdir(), 'bench-bundle-'));
  let home: string | undefined;
  try {
    const launcher = await prepareAwsLauncher(REGION, 'bench-ready');
    home = launcher.home;
    await buildCliBundle(join(bundle, 'toil'));
    const subnet = await aws.subnet(REGION);
    const toil = (args: string[]) => runToil(args, { env: launcher.env, cwd: launcher.home });
    const launch = async (name: string, extra: string[]): Promise<number> => {
      const started = performance.now();
      const result = await toil([
        'launch-cluster',
        name,
        '--leaderNodeType',
        't3.medium',
        '--nodeTypes',
        't3.medium',
        '-w',
        String(WORKERS),
        '--keyPairName',
        'bench-ready',
        '--sshKey',
        launcher.key,
        '--zone',
        subnet.zone,
        '--vpcSubnet',
        subnet.subnetId,
        '--toilPackage',
        join(bundle, 'toil'),
        ...extra,
      ]);
      const seconds = (performance.now() - started) / 1000;
      check(`launch-cluster ${name}`, result);
      return seconds;
    };
    const destroy = async (name: string): Promise<void> => {
      check(
        `destroy-cluster ${name}`,
        await toil(['destroy-cluster', name, '--zone', subnet.zone]),
      );
      const left = await leftAfterDestroy(cloud, REGION);
      if (left.instances.length + left.namespaces.length > 0)
        throw new Error(`destroy-cluster ${name} left ${JSON.stringify(left)}`);
    };

    const sshReady = await launch('bench-ssh', ['--bootstrap', 'none']);
    const answered = await toil([
      'ssh-cluster',
      '--zone',
      subnet.zone,
      '--sshKey',
      launcher.key,
      'bench-ssh',
      'true',
    ]);
    check('ssh-cluster after --bootstrap none', answered);
    await destroy('bench-ssh');

    const slurmReady = await launch('bench-slurm', []);
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
        name: `launch-cluster leader + ${WORKERS} workers on the simulated cloud, until every node accepts SSH with its pinned host key (--bootstrap none)`,
        value: sshReady,
        unit: 's',
        note: 'the real CLI; nodes are network namespaces with their own sshd; includes the CLI start',
      },
      {
        name: `launch-cluster leader + ${WORKERS} workers on the simulated cloud, until Slurm has every worker idle (stage 2, --toilPackage bundle)`,
        value: slurmReady,
        unit: 's',
        note: `stage 2 on ${WORKERS + 1} nodes over SSH: toil bundle, munge key, slurm.conf, daemons; sinfo then showed ${idle} idle`,
      },
    ];
    process.stdout.write(`${JSON.stringify({ rows })}\n`);
  } finally {
    if (home) rmSync(home, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
    await aws.stop();
    await cloud.stop();
    await moto.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
