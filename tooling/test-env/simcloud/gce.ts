import { join } from 'node:path';
import {
  startGceFake,
  type FakeInstanceView,
  type GceFake,
  type GceFakeOptions,
} from '../gce-fake.js';
import type { InstanceSource, SimCloud, SimInstance } from './simcloud.js';

/** The Compute Engine fake under the simulated cloud. */
export interface SimGce {
  /** The fake: its endpoint, inventory and test hooks. */
  readonly fake: GceFake;
  /**
   * Environment for the product on this machine, as a user would set it: the standard Google
   * auth chain (`GOOGLE_APPLICATION_CREDENTIALS` with `external_account` credentials whose
   * token and project endpoints are the fake, no metadata server, no gcloud login) and
   * `TOIL_GCE_ENDPOINT`. No `GOOGLE_CLOUD_PROJECT`: the project comes from the credentials.
   */
  readonly env: Record<string, string>;
  /** A zone the fake serves (`--zone`). */
  readonly zone: string;
  /** Stops the fake. */
  stop(): Promise<void>;
}

/** Compute Engine's states of an instance that is, or is becoming, a running machine. */
const LIVE = new Set(['PROVISIONING', 'STAGING', 'RUNNING']);

/**
 * Why the simulated cloud refuses an `instances.insert` before the fake creates anything, or
 * undefined. Test clusters get internal addresses only, chosen by the tooling; the reconcile
 * pass checks the instance again.
 */
export function gceInsertRefusal(resource: Record<string, any>): string | undefined {
  const nics = (resource.networkInterfaces ?? []) as Record<string, any>[];
  for (const [index, nic] of nics.entries()) {
    if ((nic.accessConfigs ?? []).length)
      return `instances.insert of ${String(resource.name)} asks for an external address (networkInterfaces[${index}].accessConfigs); simulated clusters have internal addresses only (launch with --no-externalAddress)`;
    if (nic.networkIP)
      return `instances.insert of ${String(resource.name)} names its address ${String(nic.networkIP)}; the simulated cloud chooses addresses in its own subnet`;
    if ((nic.aliasIpRanges ?? []).length || (nic.ipv6AccessConfigs ?? []).length)
      return `instances.insert of ${String(resource.name)} asks for alias or IPv6 ranges, which the simulated cloud does not route`;
  }
  return undefined;
}

/** Where a simulated GCE node has its credentials for the fake (readable by Slurm's user). */
const NODE_CREDENTIALS_DIR = '/etc/toil-ts-simcloud/gce';

/**
 * What every simulated GCE node gets in place of a VM's service account and metadata server:
 * `external_account` credentials naming the fake at the gateway address, in files any local
 * user can read (as any local user can ask a metadata server), and a login environment that
 * points the standard Google auth chain and `TOIL_GCE_ENDPOINT` at them.
 */
function nodeAccess(fake: GceFake, endpoint: string): Pick<SimInstance, 'sessionEnv' | 'files'> {
  const subjectTokenPath = `${NODE_CREDENTIALS_DIR}/subject-token`;
  const credentialsPath = `${NODE_CREDENTIALS_DIR}/credentials.json`;
  const { json, subjectToken } = fake.credentials(endpoint, subjectTokenPath);
  return {
    sessionEnv: {
      TOIL_GCE_ENDPOINT: endpoint,
      GOOGLE_APPLICATION_CREDENTIALS: credentialsPath,
      GOOGLE_CLOUD_PROJECT: fake.project,
    },
    files: [
      { path: credentialsPath, content: json, mode: '0644' },
      { path: subjectTokenPath, content: subjectToken, mode: '0644' },
    ],
  };
}

function simInstance(
  view: FakeInstanceView,
  access: Pick<SimInstance, 'sessionEnv' | 'files'>,
): SimInstance {
  return {
    ...access,
    id: view.id,
    live: LIVE.has(view.status),
    privateAddress: view.networkIP,
    ...(view.accessConfigs.length
      ? { publicAddress: `an external access config (${view.accessConfigs.join(', ')})` }
      : {}),
    // A GCE VM's host name is its instance name.
    hostname: view.name,
    userData: view.metadata['user-data'] ?? '',
  };
}

/**
 * Puts a Compute Engine fake under the simulated cloud: its instances get addresses from the
 * run's subnet (`cloud.allocateAddress()`), become nodes as they are inserted (stage 1 from the
 * `user-data` metadata value), answer `getSerialPortOutput` from the node's real console, and
 * go away when they stop or are deleted. The fake also listens on the run's gateway address,
 * which nodes reach, and every node's login sessions get credentials for it (`nodeAccess`),
 * so a leader can call the API as a real VM does through its service account. Inserts that ask for an external address or name
 * their own address are refused with 400 `simCloudRefused` (and recorded, so the run's
 * `stop()` fails the test), as the AWS front refuses public addresses.
 */
export async function attachGce(
  cloud: SimCloud,
  options: Omit<GceFakeOptions, 'allocateAddress' | 'consoleOutput' | 'admitInstance'> = {},
): Promise<SimGce> {
  const fake = await startGceFake({
    ...options,
    allocateAddress: () => cloud.allocateAddress(),
    consoleOutput: (view) => cloud.consoleOutput(view.id),
    admitInstance: (resource) => {
      const refusal = gceInsertRefusal(resource);
      if (refusal) {
        cloud.problems.push(refusal);
        process.stderr.write(`\n!! simcloud ${cloud.runId}: refused ${refusal}\n`);
      }
      return refusal;
    },
  });
  let access: Pick<SimInstance, 'sessionEnv' | 'files'>;
  try {
    access = nodeAccess(fake, await fake.listenAlso(cloud.gateway));
  } catch (error) {
    await fake.stop();
    throw error;
  }
  const source: InstanceSource = {
    name: 'gce',
    list: async () => fake.instances().map((view) => simInstance(view, access)),
  };
  const reconcile = () => void cloud.reconcile().catch(() => {});
  fake.on('instance-status', reconcile);
  fake.on('instance-deleted', reconcile);
  try {
    await cloud.addSource(source);
  } catch (error) {
    await fake.stop();
    throw error;
  }
  return {
    fake,
    env: {
      ...fake.writeCredentials(join(cloud.dir, 'gce-credentials')),
      TOIL_GCE_ENDPOINT: fake.endpoint,
    },
    zone: 'us-central1-a',
    async stop() {
      fake.removeListener('instance-status', reconcile);
      fake.removeListener('instance-deleted', reconcile);
      await fake.stop();
    },
  };
}

/** What the GCE cluster tests' `launch-cluster` varies (see {@link gceLaunchArgs}). */
export interface GceLaunchOptions {
  /** `--zone`: the fake's (`SimGce.zone`). */
  zone: string;
  /** `--nodeTypes` and `-w` (a count or a range, `0-2`). */
  nodeTypes: string;
  workers: string;
  /** The private key (`--sshKey`); the login user is `gceuser` (`--keyPairName`). */
  sshKey: string;
  /** The self-contained CLI for the nodes (`--toilPackage`, see `buildCliBundle`). */
  toilPackage: string;
  /** The rest, as given (`--nodeIdleTime 20s`, ...). */
  more?: string[];
}

/**
 * The `toil launch-cluster --provisioner gce` argv of the GCE cluster tests: an e2-standard-2
 * leader, internal addresses only (what the simulated cloud takes).
 */
export function gceLaunchArgs(name: string, options: GceLaunchOptions): string[] {
  return [
    'launch-cluster',
    name,
    '--provisioner',
    'gce',
    '--zone',
    options.zone,
    '--leaderNodeType',
    'e2-standard-2',
    '--nodeTypes',
    options.nodeTypes,
    '-w',
    options.workers,
    '--keyPairName',
    'gceuser',
    '--sshKey',
    options.sshKey,
    '--no-externalAddress',
    '--toilPackage',
    options.toilPackage,
    ...(options.more ?? []),
  ];
}
