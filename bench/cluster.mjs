// `pnpm bench cluster`: the AWS provisioner against moto_server on 127.0.0.1 (EC2 + IAM with
// the real SDK). Rows: launch of a leader + 10 workers until every instance runs, destroy of
// that cluster, destroy of a 100-node cluster, and the API calls each made (these launches use
// bootstrap "none": plain moto has no nodes). Then, on the simulated cloud whose instances are
// real nodes (root, sshd, iproute2: see tooling/test-env/simcloud), the real CLI's
// launch-to-SSH-ready and launch-to-Slurm-ready times for a leader + 10 workers
// (bench/cluster-ready.cts; BENCH_CLUSTER_READY=0 leaves them out), and autoscaling: from a
// job waiting to a new node running it, and the node-hours a 20-job run used against the
// least it needed (bench/cluster-autoscale.cts; BENCH_CLUSTER_AUTOSCALE=0 leaves them out).
/* global fetch */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timed } from './lib.mjs';

function findMoto() {
  const candidates = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'moto_server'));
  const versions = join(homedir(), '.pyenv', 'versions');
  if (existsSync(versions))
    for (const v of readdirSync(versions).sort().reverse())
      candidates.push(join(versions, v, 'bin', 'moto_server'));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startMoto() {
  const binary = findMoto();
  if (!binary) throw new Error('moto_server not found (PATH, ~/.pyenv/versions/*/bin)');
  const port = await freePort();
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error('moto_server did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, stop: () => child.kill('SIGTERM') };
}

const sum = (calls, skip = []) =>
  Object.entries(calls)
    .filter(([k]) => !skip.includes(k))
    .reduce((n, [, v]) => n + v, 0);

export default async function run({ log }) {
  const rows = [];
  const moto = await startMoto();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  try {
    const { EC2Client, CreateKeyPairCommand, DescribeImagesCommand } =
      await import('@aws-sdk/client-ec2');
    const { silentHost } = await import('@toil/core');
    const { parseClusterSpec } = await import('@toil/provisioner');
    const { AwsProvisioner } = await import('@toil/provisioner-aws');
    const ec2 = new EC2Client({ region: 'us-west-2' });
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'bench' }));
    const images = await ec2.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['*ubuntu*'] }] }),
    );
    const env = { ...process.env, TOIL_AWS_AMI: images.Images[0].ImageId };
    const spec = (clusterName, workers) =>
      parseClusterSpec({
        clusterName,
        provisioner: 'aws',
        zone: 'us-west-2a',
        leaderNodeType: 't3.medium',
        keyPairName: 'bench',
        owner: 'bench',
        tags: { Name: clusterName, Owner: 'bench', clusterName },
        workers: [{ instanceTypes: ['t3.small'], count: workers }],
        sshPublicKey:
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmuVCmF5dEmvj1Bn2v9W/+vOULDW76ujO2M2L8YxKs6 b@b',
        toilPackage: { kind: 'registry', version: '0.1.0' },
        bootstrap: 'none',
      });

    const small = new AwsProvisioner({ zone: 'us-west-2a', host: silentHost, env });
    log('launching a leader + 10 workers');
    const launch = await timed(() => small.launchCluster(spec('bench-small', 10)));
    rows.push(
      {
        name: 'launch leader + 10 workers, until all run (moto, no SSH)',
        value: launch.seconds,
        unit: 's',
      },
      {
        name: 'launch API calls per node (11 nodes)',
        value: sum(launch.result.apiCalls) / 11,
        unit: 'calls',
      },
    );
    const destroySmall = await timed(() => small.destroyCluster('bench-small'));
    rows.push({ name: 'destroy of 11 nodes', value: destroySmall.seconds, unit: 's' });

    const big = new AwsProvisioner({ zone: 'us-west-2a', host: silentHost, env });
    log('launching a leader + 99 workers');
    await big.launchCluster(spec('bench-big', 99));
    log('destroying 100 nodes');
    const destroyBig = await timed(() => big.destroyCluster('bench-big'));
    const calls = destroyBig.result.apiCalls;
    rows.push(
      { name: 'destroy of 100 nodes', value: destroyBig.seconds, unit: 's', target: 30 },
      {
        name: 'destroy API calls beyond the per-1,000 termination batches (100 nodes)',
        value: sum(calls, ['TerminateInstances']),
        unit: 'calls',
        target: 20,
        note: Object.entries(calls)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      },
      {
        name: 'destroy TerminateInstances calls (100 nodes)',
        value: calls.TerminateInstances ?? 0,
        unit: 'calls',
        target: 1,
      },
      {
        name: 'destroy remaining resources (100 nodes)',
        value: destroyBig.result.remaining.length,
        unit: 'resources',
        target: 0,
      },
    );
  } finally {
    moto.stop();
  }
  if (process.env.BENCH_CLUSTER_READY !== '0') rows.push(...launchToReady(log));
  if (process.env.BENCH_CLUSTER_AUTOSCALE !== '0') rows.push(...autoscaling(log));
  return rows;
}

/**
 * The rows a simulated-cloud benchmark prints (bench/simcloud-bench.cts): TypeScript test tooling
 * that uses __dirname, so run under tsx's CommonJS hook, entered through require().
 */
function simCloudRows(file, what) {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = join(here, file);
  const result = spawnSync(
    process.execPath,
    ['--require', 'tsx/cjs', '-e', `require(${JSON.stringify(script)})`],
    { cwd: join(here, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (result.status !== 0) throw new Error(`bench/${file} failed (${result.status})`);
  const out = JSON.parse(result.stdout.trim().split('\n').pop());
  if (out.skipped) return [{ name: what, value: 'skipped', note: out.skipped }];
  return out.rows;
}

/** The rows of bench/cluster-autoscale.cts. */
function autoscaling(log) {
  log('an elastic node group (-w 0-3) growing for 20 jobs and shrinking on the simulated cloud');
  return simCloudRows('cluster-autoscale.cts', 'autoscaling on the simulated cloud');
}

/** The rows of bench/cluster-ready.cts. */
function launchToReady(log) {
  log('launching leader + 10 workers on the simulated cloud (SSH-ready, then Slurm-ready)');
  return simCloudRows('cluster-ready.cts', 'launch to SSH- and Slurm-ready on the simulated cloud');
}
