import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithComponent } from './component.js';

/**
 * A real single-node Slurm for tests, started and stopped by `tooling/test-env/slurm.sh`.
 *
 * Several jest workers (and `pnpm bench slurm`) may need it at once, so each process takes a
 * lease (`slurm.sh acquire PID`) and the last one to release it stops the daemons.
 */

/** The state directory of the test cluster (slurm.conf, state, logs, job output). */
export const SLURM_DIR = process.env.TOIL_TEST_SLURM_DIR ?? '/tmp/toil-ts-slurm';
/** The cluster's configuration file; clients find the cluster through `SLURM_CONF`. */
export const SLURM_CONF = join(SLURM_DIR, 'slurm.conf');
/** A directory on the (only) node where tests may let jobs write their output. */
export const SLURM_OUTPUT_DIR = join(SLURM_DIR, 'output');

const SCRIPT = join(__dirname, 'slurm.sh');

/**
 * Why the Slurm tests cannot run here, or `undefined` when they can. Slurm needs root (slurmd
 * runs as root) and the Debian packages from `install-system-deps.sh`.
 */
export function slurmUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'Slurm tests need Linux';
  if (process.getuid?.() !== 0) return 'Slurm tests need root (slurmd runs as root)';
  for (const bin of ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged']) {
    if (!existsSync(bin))
      return `${bin} is missing: run "bash tooling/test-env/install-system-deps.sh" as root`;
  }
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .some((dir) => dir && existsSync(join(dir, 'sbatch')));
  if (!onPath) return 'sbatch is not on PATH (apt: slurm-client)';
  return undefined;
}

/**
 * `describe` when Slurm can run here; otherwise prints a loud warning and skips the block, or,
 * under `CI=true`, fails it: CI must run the Slurm tests.
 */
export function describeWithSlurm(name: string, body: () => void): void {
  describeWithComponent('a real Slurm', slurmUnavailableReason(), name, body);
}

function runScript(args: string[]): string {
  const result = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 360_000 });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new Error(`slurm.sh ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/**
 * Starts the test cluster if it is not running (idempotent), takes a lease for this process
 * and sets `process.env.SLURM_CONF` so that the Slurm commands this process and its children
 * run reach it.
 */
export function acquireSlurm(): void {
  runScript(['acquire', String(process.pid)]);
  process.env.SLURM_CONF = SLURM_CONF;
}

/**
 * Gives this process's lease back; the last holder (leases of dead processes do not count)
 * cancels every job and stops the daemons.
 */
export function releaseSlurm(): void {
  runScript(['release', String(process.pid)]);
}

/**
 * Runs a Slurm client command against the test cluster and returns its stdout. Slurm keeps
 * finished jobs for MinJobAge (300 s), and a benchmark submits hundreds: `scontrol -o show job`
 * then prints megabytes, more than execFileSync's default 1 MiB buffer (ENOBUFS).
 */
export function slurmCommand(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, SLURM_CONF },
    maxBuffer: 256 * 2 ** 20,
  });
}

/** Ids of the jobs in the test cluster's queue (pending, running or completing). */
export function queuedSlurmJobs(): string[] {
  return slurmCommand(['squeue', '-h', '-o', '%A'])
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}
