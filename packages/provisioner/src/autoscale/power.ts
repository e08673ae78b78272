import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { report, ToilError, type IoHost } from '@toil/core';
import '../errors.js';
import type { ClusterNode, Provisioner } from '../contract.js';
import type { ToilPackageSource } from '../spec.js';
import { joinCloudNodes, type Stage2Connector } from '../bootstrap/stage2.js';
import {
  AUTOSCALE_DIR,
  SLURM_NODE_TAG,
  elasticNodeOf,
  readAutoscaleConfig,
  type AutoscaleConfig,
} from './config.js';
import { LEDGER_PATH, appendLedger, openStarts, readLedger, type LedgerEntry } from './ledger.js';

const SOURCE = 'toil.provisioner.autoscale';

/** What Slurm's power saving asks of the leader. */
export type PowerAction = 'resume' | 'suspend' | 'resume-fail';

/** Every {@link PowerAction}. */
export const POWER_ACTIONS: readonly PowerAction[] = ['resume', 'suspend', 'resume-fail'];

/** Runs a Slurm client command (argv, no shell) and resolves with its stdout. */
export type SlurmRunner = (argv: readonly string[]) => Promise<string>;

/** Everything the power-saving programs need on the leader. */
export interface PowerContext {
  host: IoHost;
  config: AutoscaleConfig;
  provisioner: Provisioner;
  slurm: SlurmRunner;
  /** Opens SSH connections to new nodes with the leader's own key, host keys checked. */
  connect: Stage2Connector;
  /** The public half of the leader's key, installed on new nodes by stage 1. */
  sshPublicKey: string;
  /** The leader's login user's id, which new nodes' login user gets (Slurm runs jobs as it). */
  sshUid?: number;
  /** The cluster's munge key. */
  mungeKey: Uint8Array;
  /** The cluster's slurm.conf (the same on every node). */
  slurmConf: string;
  /** Where new nodes get toil from (the leader's own install). */
  toilPackage: ToilPackageSource;
  /** The node ledger to record starts and stops in (with their prices); none when absent. */
  ledgerPath?: string;
}

/** {@link SlurmRunner} on this machine's Slurm commands. */
export const runSlurm: SlurmRunner = (argv) =>
  new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error)
        reject(
          new ToilError(
            'BATCH_SYSTEM_UNAVAILABLE',
            `${argv.join(' ')} failed: ${(stderr || error.message).trim().split('\n')[0]}`,
            { hint: 'Check that slurmctld runs on this leader (scontrol ping).', cause: error },
          ),
        );
      else resolve(stdout);
    });
  });

/** Slurm's expansion of a host list (`w0-[0-2],w1-0`) into node names. */
export async function expandHostList(list: string, slurm: SlurmRunner): Promise<string[]> {
  return (await slurm(['scontrol', 'show', 'hostnames', list]))
    .split('\n')
    .map((n) => n.trim())
    .filter(Boolean);
}

/**
 * Where new nodes get toil from: the leader's own install when stage 2 unpacked it from a
 * bundle (`/opt/toil-ts/<id>`, marked complete), else the npm registry at this version.
 */
export function leaderToilPackage(cliBin: string, version: string): ToilPackageSource {
  const root = dirname(dirname(realpathSync(cliBin)));
  if (existsSync(join(root, '.toil-ts-complete')) && existsSync(join(root, 'node_modules')))
    return { kind: 'bundle', path: root, version };
  return { kind: 'registry', version };
}

/**
 * The power context of this leader from what stage 2 left in {@link AUTOSCALE_DIR}: the
 * settings, the leader's key, the munge key copy, `/etc/slurm/slurm.conf`.
 *
 * @throws ToilError `CLUSTER_STATE_INVALID` when this is not such a leader.
 */
export async function leaderPowerContext(options: {
  host: IoHost;
  loadProvisioner: (config: AutoscaleConfig) => Promise<Provisioner>;
  connectorFor: (credentials: { privateKeyPath: string }) => Promise<Stage2Connector>;
  toilPackage: ToilPackageSource;
  dir?: string;
  slurmConfPath?: string;
  slurm?: SlurmRunner;
  /** Default {@link LEDGER_PATH}. */
  ledgerPath?: string;
}): Promise<PowerContext> {
  const dir = options.dir ?? AUTOSCALE_DIR;
  const config = readAutoscaleConfig(join(dir, 'config.json'));
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ToilError(
        'CLUSTER_STATE_INVALID',
        `Cannot read ${path}: ${(error as Error).message}`,
        {
          hint: "Run the power-saving programs as Slurm's user on the leader (they are Slurm's ResumeProgram and SuspendProgram).",
          cause: error,
        },
      );
    }
  };
  return {
    host: options.host,
    config,
    provisioner: await options.loadProvisioner(config),
    slurm: options.slurm ?? runSlurm,
    connect: await options.connectorFor({ privateKeyPath: join(dir, 'id_ed25519') }),
    sshPublicKey: read(join(dir, 'id_ed25519.pub')).toString('utf8').trim(),
    ...loginUid(dir),
    mungeKey: read(join(dir, 'munge.key')),
    slurmConf: read(options.slurmConfPath ?? '/etc/slurm/slurm.conf').toString('utf8'),
    toilPackage: options.toilPackage,
    ledgerPath: options.ledgerPath ?? LEDGER_PATH,
  };
}

/** Appends to the node ledger; a ledger that cannot be written is a warning, not a failure. */
function record(context: PowerContext, entries: LedgerEntry[]): void {
  if (!context.ledgerPath || entries.length === 0) return;
  try {
    appendLedger(context.ledgerPath, entries);
  } catch (error) {
    report(
      context.host,
      'warning',
      'AUTOSCALE_LEDGER_FAILED',
      `Could not record ${entries.length} node event(s) in ${context.ledgerPath}: ${(error as Error).message}`,
      { path: context.ledgerPath },
      SOURCE,
    );
  }
}

/** Stop entries for instances the leader terminated. */
function stopsOf(
  nodes: readonly ClusterNode[],
  why: 'suspend' | 'resume-fail' | 'failed-start',
): LedgerEntry[] {
  const time = Math.round(Date.now() / 1000);
  return nodes.map((n) => ({
    v: 1,
    event: 'stop',
    node: n.tags[SLURM_NODE_TAG] ?? '',
    instance: n.id,
    time,
    why,
  }));
}

/** A new node's start entry, with its hourly price from the cloud's API (or why none). */
async function startOf(
  context: PowerContext,
  name: string,
  node: ClusterNode,
): Promise<LedgerEntry> {
  const time = node.launchTime > 0 ? node.launchTime : Math.round(Date.now() / 1000);
  let price: { usdPerHour?: number; noPrice?: string };
  const { provisioner } = context;
  if (!provisioner.hourlyPrice)
    price = { noPrice: `the ${provisioner.name} provisioner reads no prices` };
  else
    price = await provisioner
      .hourlyPrice(node.nodeType, {
        spot: node.preemptible,
        ...(node.zone ? { zone: node.zone } : {}),
        at: time,
      })
      .catch((error: unknown) => ({ noPrice: (error as Error).message }));
  return {
    v: 1,
    event: 'start',
    node: name,
    instance: node.id,
    type: node.nodeType,
    spot: node.preemptible,
    time,
    ...(price.usdPerHour === undefined
      ? { noPrice: price.noPrice ?? 'no price' }
      : { usdPerHour: price.usdPerHour }),
  };
}

/** The login user's id stage 2 recorded on the leader (`login-uid`), when it did. */
function loginUid(dir: string): { sshUid?: number } {
  try {
    const uid = Number(readFileSync(join(dir, 'login-uid'), 'utf8').trim());
    return Number.isInteger(uid) && uid > 0 ? { sshUid: uid } : {};
  } catch {
    return {};
  }
}

/** The live instances started for these Slurm node names (found by their tag). */
async function instancesOf(
  context: PowerContext,
  names: ReadonlySet<string>,
): Promise<ClusterNode[]> {
  const nodes = await context.provisioner.listNodes(context.config.clusterName);
  return nodes.filter(
    (n) =>
      n.role === 'worker' && n.state !== 'terminated' && names.has(n.tags[SLURM_NODE_TAG] ?? ''),
  );
}

/** What a power action did. */
export interface PowerReport {
  action: PowerAction;
  /** Slurm node names started (resume) or whose instances were terminated. */
  done: string[];
  /** Slurm node names that failed, with why. */
  failed: { name: string; reason: string }[];
}

/**
 * Slurm's ResumeProgram: starts one instance per node name (of the name's elastic group,
 * tagged with the name), points Slurm at its address, and bootstraps it (stage 2 with the
 * leader's slurm.conf, `slurmd -N <name>`), so it registers under the name Slurm asked for.
 * Instances left from an earlier try of the same name are terminated first. A node that
 * cannot be started is terminated and set `DOWN` in Slurm with the reason.
 */
export async function resumeCloudNodes(
  names: readonly string[],
  context: PowerContext,
): Promise<PowerReport> {
  const { config, host } = context;
  const failed: PowerReport['failed'] = [];
  const wanted = names.filter((name) => {
    if (elasticNodeOf(config, name)) return true;
    failed.push({ name, reason: 'not a node of an elastic group of this cluster' });
    return false;
  });
  const stale = await instancesOf(context, new Set(wanted));
  if (stale.length > 0) {
    await context.provisioner.terminateNodes(
      config.clusterName,
      stale.map((n) => n.id),
    );
    record(context, stopsOf(stale, 'failed-start'));
  }
  const started = new Map<string, ClusterNode>();
  await Promise.all(
    wanted.map(async (name) => {
      const { group } = elasticNodeOf(config, name)!;
      try {
        const [node] = await context.provisioner.addNodes(
          config.clusterName,
          {
            instanceTypes: group.instanceTypes,
            ...(group.spotBid === undefined ? {} : { spotBid: group.spotBid }),
          },
          1,
          {
            sshPublicKey: context.sshPublicKey,
            ...(context.sshUid === undefined ? {} : { sshUid: context.sshUid }),
            storageGb: config.nodeStorageGb,
            bootstrap: 'host-keys',
            tags: { [SLURM_NODE_TAG]: name },
            phaseTimeoutSeconds: config.phaseTimeoutSeconds,
          },
        );
        if (node) record(context, [await startOf(context, name, node)]);
        const address = node?.privateAddress;
        if (!node || !address) throw new Error('the new instance has no private address');
        await context.slurm(['scontrol', 'update', `NodeName=${name}`, `NodeAddr=${address}`]);
        started.set(name, node);
      } catch (error) {
        failed.push({ name, reason: (error as Error).message });
      }
    }),
  );
  if (started.size > 0) {
    try {
      await joinCloudNodes(
        [...started].map(([slurmName, node]) => ({ node, slurmName })),
        {
          host,
          connect: context.connect,
          toilPackage: context.toilPackage,
          phaseTimeoutMs: config.phaseTimeoutSeconds * 1000,
          mungeKey: context.mungeKey,
          slurmConf: context.slurmConf,
        },
      );
    } catch (error) {
      for (const name of started.keys()) failed.push({ name, reason: (error as Error).message });
      started.clear();
    }
  }
  const failedNames = new Set(failed.map((f) => f.name));
  const leftovers = await instancesOf(context, failedNames).catch(() => []);
  if (leftovers.length > 0)
    await context.provisioner
      .terminateNodes(
        config.clusterName,
        leftovers.map((n) => n.id),
      )
      .then(() => record(context, stopsOf(leftovers, 'failed-start')))
      .catch(() => undefined);
  for (const { name, reason } of failed) {
    report(
      host,
      'error',
      'AUTOSCALE_RESUME_FAILED',
      `Could not start ${name}: ${reason}`,
      { name },
      SOURCE,
    );
    if (elasticNodeOf(config, name))
      await context
        .slurm([
          'scontrol',
          'update',
          `NodeName=${name}`,
          'State=DOWN',
          `Reason=toil-ts could not start it: ${reason.replace(/\s+/g, ' ').slice(0, 200)}`,
        ])
        .catch(() => undefined);
  }
  const done = [...started.keys()];
  if (done.length > 0)
    report(
      host,
      'info',
      'AUTOSCALE_RESUMED',
      `Started ${done.join(', ')}`,
      { names: done },
      SOURCE,
    );
  return { action: 'resume', done, failed };
}

/**
 * Slurm's SuspendProgram (and ResumeFailProgram): terminates the instances started for these
 * node names. A name without an instance (already gone, e.g. a spot node the cloud took back)
 * is not an error.
 */
export async function suspendCloudNodes(
  names: readonly string[],
  context: PowerContext,
  action: PowerAction = 'suspend',
): Promise<PowerReport> {
  const instances = await instancesOf(context, new Set(names));
  await context.provisioner.terminateNodes(
    context.config.clusterName,
    instances.map((n) => n.id),
  );
  record(context, stopsOf(instances, action === 'resume-fail' ? 'resume-fail' : 'suspend'));
  report(
    context.host,
    'info',
    'AUTOSCALE_SUSPENDED',
    `Terminated ${instances.length} instance(s) of ${names.join(', ')}`,
    { names, instances: instances.map((n) => n.id) },
    SOURCE,
  );
  return { action, done: [...names], failed: [] };
}

/**
 * Returns to the pool the cloud nodes Slurm has marked down whose instance is gone (a spot
 * node the cloud took back: Slurm saw its slurmd stop answering and ended its jobs
 * `NODE_FAIL`): `POWER_DOWN_FORCE` makes them powered-down cloud nodes Slurm can resume
 * again. Runs with every resume and suspend.
 */
export async function reclaimLostNodes(context: PowerContext): Promise<string[]> {
  // Nodes this program set down because they could not start stay down (no retry loop).
  const downSince = new Map<string, number>();
  const down = (await context.slurm(['sinfo', '-h', '-N', '-t', 'down', '-o', '%N|%H|%E']))
    .split('\n')
    .map((line) => line.trim().split('|'))
    .filter(
      ([n, , reason]) =>
        n && elasticNodeOf(context.config, n) && !reason?.startsWith('toil-ts could not start'),
    )
    .map(([n, since]) => {
      // Slurm prints the reason's time in local time, without a zone (2026-11-30T12:34:56).
      if (since && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(since))
        downSince.set(n!, Math.round(new Date(since).getTime() / 1000));
      return n!;
    });
  if (down.length === 0) return [];
  const live = new Set(
    (await instancesOf(context, new Set(down))).map((n) => n.tags[SLURM_NODE_TAG]),
  );
  const lost = [...new Set(down)].filter((n) => !live.has(n));
  if (context.ledgerPath && lost.length > 0) {
    const now = Math.round(Date.now() / 1000);
    const open = openStarts(readLedger(context.ledgerPath) ?? [], new Set(lost));
    record(
      context,
      open.map((start) => ({
        v: 1,
        event: 'stop',
        node: start.node,
        instance: start.instance,
        time: Math.max(start.time, Math.min(now, downSince.get(start.node) ?? now)),
        why: 'lost',
      })),
    );
  }
  for (const name of lost)
    await context.slurm([
      'scontrol',
      'update',
      `NodeName=${name}`,
      'State=POWER_DOWN_FORCE',
      'Reason=toil-ts: its instance is gone',
    ]);
  if (lost.length > 0)
    report(
      context.host,
      'info',
      'AUTOSCALE_RECLAIMED',
      `Returned ${lost.join(', ')} to the pool: their instances are gone`,
      { names: lost },
      SOURCE,
    );
  return lost;
}

/**
 * One run of a power-saving program: expands Slurm's host list, then resumes or terminates
 * the nodes, and returns lost nodes to the pool.
 */
export async function runPowerAction(
  action: PowerAction,
  hostList: string,
  context: PowerContext,
): Promise<PowerReport> {
  const names = await expandHostList(hostList, context.slurm);
  const result =
    action === 'resume'
      ? await resumeCloudNodes(names, context)
      : await suspendCloudNodes(names, context, action);
  await reclaimLostNodes(context).catch((error: unknown) =>
    report(
      context.host,
      'warning',
      'AUTOSCALE_RECLAIM_FAILED',
      `Could not look for lost nodes: ${(error as Error).message}`,
      undefined,
      SOURCE,
    ),
  );
  return result;
}
