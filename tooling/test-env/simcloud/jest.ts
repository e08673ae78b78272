import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findMotoServer, startMoto, type MotoServer } from '../moto.js';
import { attachAws, type SimAws } from './aws.js';
import { attachGce, type SimGce } from './gce.js';
import { startSimCloud, type SimCloud } from './simcloud.js';

/**
 * Why the simulated cloud cannot run here, or `undefined` when it can: it needs Linux, root
 * (namespaces, mounts, a bridge), iproute2, util-linux's unshare/nsenter, OpenSSH's server
 * and moto_server (`install-system-deps.sh` installs the Debian parts).
 */
export function simCloudUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'the simulated cloud needs Linux';
  if (process.getuid?.() !== 0) return 'the simulated cloud needs root (namespaces, mounts, veth)';
  const onPath = (bin: string) =>
    ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) =>
      existsSync(join(d, bin)),
    );
  for (const bin of ['ip', 'unshare', 'nsenter', 'ssh-keygen', 'useradd', 'runuser'])
    if (!onPath(bin))
      return `${bin} is missing: run "bash tooling/test-env/install-system-deps.sh" as root`;
  if (!existsSync('/usr/sbin/sshd'))
    return '/usr/sbin/sshd is missing: run "bash tooling/test-env/install-system-deps.sh" as root';
  if (!findMotoServer()) return 'moto_server is not installed (EC2 and S3 of the simulated cloud)';
  return undefined;
}

/**
 * `describe` when the simulated cloud can run here; otherwise a loud warning and a skip, or,
 * under `CI=true`, a failing test. For files that start their own {@link startSimCloud}
 * without moto; {@link useSimCloud} uses it too.
 */
export function describeWithSimCloud(suite: string, name: string, body: () => void): void {
  const reason = simCloudUnavailableReason();
  if (reason === undefined) return describe(name, body);
  if (process.env.CI === 'true')
    return describe(name, () => {
      it('needs the simulated cloud', () => {
        throw new Error(`CI must run ${suite}, but: ${reason}`);
      });
    });
  process.stderr.write(
    `\n${'!'.repeat(78)}\n!! SKIPPING "${name}" (${suite}): ${reason}.\n!! These tests run on real network-namespace nodes; under CI=true they fail instead.\n${'!'.repeat(78)}\n\n`,
  );
  describe.skip(name, body);
}

/** What {@link useSimCloud} gives a test file. */
export interface SimCloudEnv {
  /** jest's `describe` when the simulated cloud can run; otherwise a skip (or, under CI=true, a failure). */
  readonly describe: (name: string, body: () => void) => void;
  /** The running moto (inside tests only). */
  moto(): MotoServer;
  /** The simulated cloud (inside tests only). */
  cloud(): SimCloud;
  /** moto's EC2 under the simulated cloud, with the front's endpoint (inside tests only). */
  aws(): SimAws;
  /** The Compute Engine fake under the simulated cloud (inside tests only). */
  gce(): SimGce;
}

/**
 * For jest files that need cloud instances to be real nodes. Call at module level: a
 * `beforeAll` starts moto, the simulated cloud, its AWS front and the Compute Engine fake,
 * and points the AWS SDK's standard chain and the Google auth chain (plus `TOIL_GCE_ENDPOINT`)
 * of this process (and of children it starts) at them; an `afterAll`
 * removes every node and stops all of it, and fails when the simulated cloud refused
 * something (an address outside its subnet, a public address). Without root, sshd or moto
 * it warns loudly and skips on a developer machine; under `CI=true` it fails.
 */
export function useSimCloud(suite: string): SimCloudEnv {
  const reason = simCloudUnavailableReason();
  let moto: MotoServer | undefined;
  let cloud: SimCloud | undefined;
  let aws: SimAws | undefined;
  let gce: SimGce | undefined;
  const saved = new Map<string, string | undefined>();
  const env: SimCloudEnv = {
    describe: (name, body) => describeWithSimCloud(suite, name, body),
    moto: () => moto ?? fail('moto'),
    cloud: () => cloud ?? fail('the simulated cloud'),
    aws: () => aws ?? fail('the AWS front'),
    gce: () => gce ?? fail('the Compute Engine fake'),
  };
  function fail(what: string): never {
    throw new Error(`${what} is not running (${suite}): use it inside tests`);
  }
  if (reason !== undefined) return env;
  beforeAll(async () => {
    moto = await startMoto();
    cloud = await startSimCloud({
      log: process.env.SIMCLOUD_LOG
        ? (line) => process.stderr.write(`[${new Date().toISOString()}] ${line}\n`)
        : undefined,
    });
    aws = await attachAws(cloud, moto);
    gce = await attachGce(cloud);
    for (const [key, value] of Object.entries({ ...aws.env, ...gce.env })) {
      saved.set(key, process.env[key]);
      process.env[key] = value;
    }
  }, 120_000);
  afterAll(async () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    try {
      await aws?.stop();
      await gce?.stop();
      await cloud?.stop();
    } finally {
      await moto?.stop();
    }
  }, 120_000);
  return env;
}
