// The harness of the benchmarks that run the real CLI on the simulated cloud
// (bench/cluster-ready.cts, bench/cluster-autoscale.cts): moto + the simulated cloud + its AWS
// front, a launcher (home, key pair), a toil bundle to push, then the benchmark's body; it
// prints the body's rows as one JSON line and removes everything it made, also on failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCliBundle } from '../tooling/test-env/cli-bundle';
import { runToil, type CommandResult } from '../tooling/test-env/cli';
import { startMoto } from '../tooling/test-env/moto';
import {
  attachAws,
  prepareAwsLauncher,
  simCloudUnavailableReason,
  startSimCloud,
  type AwsLauncher,
  type SimAws,
  type SimCloud,
} from '../tooling/test-env/simcloud/index';

/** The region every simulated-cloud benchmark launches in. */
export const REGION = 'us-west-2';

/** One figure a benchmark prints. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** What a benchmark body gets. */
export interface SimCloudBench {
  cloud: SimCloud;
  aws: SimAws;
  launcher: AwsLauncher;
  subnet: { zone: string; subnetId: string };
  /** A self-contained toil install for `--toilPackage`. */
  toilPackage: string;
  /** Runs the CLI as the launcher. */
  toil(args: string[]): Promise<CommandResult>;
}

/** Throws with everything a command printed unless it exited 0. */
export function check(what: string, result: CommandResult): void {
  if (result.code !== 0)
    throw new Error(`${what} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
}

/**
 * Runs `body` on a fresh simulated cloud with a launcher whose key pair is `keyName`, and prints
 * `{"rows": [...]}` (or `{"skipped": reason}` where the simulated cloud cannot run).
 */
export function runSimCloudBench(
  keyName: string,
  body: (bench: SimCloudBench) => Promise<BenchRow[]>,
): void {
  const main = async (): Promise<void> => {
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
      const launcher = await prepareAwsLauncher(REGION, keyName);
      home = launcher.home;
      const toilPackage = join(bundle, 'toil');
      await buildCliBundle(toilPackage);
      const subnet = await aws.subnet(REGION);
      const rows = await body({
        cloud,
        aws,
        launcher,
        subnet,
        toilPackage,
        toil: (args) => runToil(args, { env: launcher.env, cwd: launcher.home }),
      });
      process.stdout.write(`${JSON.stringify({ rows })}\n`);
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
      rmSync(bundle, { recursive: true, force: true });
      await aws.stop();
      await cloud.stop();
      await moto.stop();
    }
  };
  main().catch((error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
