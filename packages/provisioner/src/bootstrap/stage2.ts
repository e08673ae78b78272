import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { report, startSpan, ToilError, type IoHost, type ToilEvent } from '@toil/core';
import '../errors.js';
import type { ClusterNode, HostKeyFingerprint } from '../contract.js';
import { nodeAddress } from '../contract.js';
import type { ToilPackageSource } from '../spec.js';
import { CLOUD_ENV_NAMES, slurmCloudSettings, type AutoscaleConfig } from '../autoscale/config.js';
import { cloudGroupHostList, renderSlurmConf, type SlurmNodeLine } from './slurm-conf.js';
import { MUNGE_KEY_SCRIPT, READ_MUNGE_KEY_SCRIPT, STAGE2_SCRIPT } from './stage2-script.js';

const SOURCE = 'toil.provisioner.bootstrap';

/**
 * What stage 2 needs of an SSH connection to a node: the subset of `@toil/cluster-ssh`'s
 * `SshConnection` it uses (so this package takes no SSH library; any connection with these
 * methods will do).
 */
export interface Stage2Connection {
  /** Runs a command (an array is quoted word by word) and resolves with its exit status. */
  exec(
    command: readonly string[],
    options?: {
      stdin?: string | Buffer;
      onStdout?: (chunk: Buffer) => void;
      onStderr?: (chunk: Buffer) => void;
    },
  ): Promise<{ code: number | null; signal: string | null }>;
  /** Runs a script (on stdin) with quoted arguments; rejects when it exits non-zero. */
  runScript(
    script: string,
    options: { name: string; args?: readonly string[]; sudo?: boolean },
  ): Promise<void>;
  /** Copies a local file to the node over SFTP. */
  putFile(localPath: string, remotePath: string, options?: { mode?: number }): Promise<void>;
  close(): void;
}

/** Which node a {@link Stage2Connector} must reach, and how to check it is that node. */
export interface Stage2Target {
  /** The node's address (public when it has one, else private). */
  host: string;
  /** The login user stage 1 made. */
  username: string;
  /** The host keys pinned at launch; the connection must refuse any other. */
  hostKeys: readonly HostKeyFingerprint[];
  /** A name for messages: `leader i-0abc` / `worker i-0def`. */
  label: string;
  /** Where the connection reports (stage 2 passes its own, to keep each node's stderr). */
  io: IoHost;
  /** How long to wait for the node to accept SSH. */
  timeoutMs: number;
}

/**
 * Opens an SSH connection to a node with its pinned host keys checked (for example
 * `(t) => waitForSsh({ ...t, privateKeyPath })` of `@toil/cluster-ssh`).
 */
export type Stage2Connector = (target: Stage2Target) => Promise<Stage2Connection>;

/** The cluster stage 2 sets up: every node Slurm should know, leader first. */
export interface Stage2Cluster {
  clusterName: string;
  leader: ClusterNode;
  /** Every worker of the cluster (stage 2 is idempotent: ones already set up stay as they are). */
  workers: readonly ClusterNode[];
  /**
   * The elastic node groups: their nodes are Slurm cloud nodes in slurm.conf, and the leader
   * gets the settings, key and power-saving programs that start and stop them.
   */
  autoscale?: AutoscaleConfig;
}

/** How stage 2 runs. */
export interface Stage2Options {
  /** Where phases, progress and failures are reported. */
  host: IoHost;
  /** Opens the SSH connections. */
  connect: Stage2Connector;
  /** Where the nodes get this CLI from (the npm registry, or a bundle pushed from here). */
  toilPackage: ToilPackageSource;
  /** How long each phase may take on a node; running out names the phase and the node. */
  phaseTimeoutMs: number;
  /**
   * The cluster's munge key. Default: the key an earlier stage 2 installed on the leader (a
   * cluster that grows), else a new random one made here. It only ever travels over SSH, on a command's stdin.
   */
  mungeKey?: Uint8Array;
  /** The Node.js version installed on nodes without Node.js >= 20.19 (default: this one's). */
  nodeVersion?: string;
}

/** What one node turned out to be. */
export interface Stage2Node {
  id: string;
  role: ClusterNode['role'];
  /** The node's own short host name (its Slurm node name). */
  hostname: string;
  address: string;
  cpus: number;
  memoryMb: number;
}

/** What {@link runStage2} did. */
export interface Stage2Report {
  nodes: Stage2Node[];
  /** The slurm.conf written on every node. */
  slurmConf: string;
  /** Wall time of each phase over all nodes, ms. */
  phaseMs: Record<string, number>;
}

/** The phases of stage 2, in order (`bundle` happens on the launcher). */
export const STAGE2_PHASES = [
  'bundle',
  'ssh',
  'probe',
  'packages',
  'toil',
  'munge',
  'slurm',
  'slurm-ready',
] as const;

/** A phase of stage 2. */
export type Stage2Phase = (typeof STAGE2_PHASES)[number];

/** One node's connection and what it printed on stderr (for a failure message). */
interface Session {
  node: ClusterNode;
  address: string;
  label: string;
  connection?: Stage2Connection;
  /** Set when stage 2 is over (or the phase ran out of time): a late connection is closed. */
  closed?: boolean;
  stderr: string[];
  probe?: Stage2Node;
}

const TAIL_LINES = 15;

/**
 * The host a node's connection reports to: the script's own output lines go to `debug` (they
 * are many), and its stderr lines are kept for the failure message.
 */
function sessionHost(outer: IoHost, session: Session): IoHost {
  return {
    emit(event: ToilEvent) {
      if (event.code === 'SSH_SCRIPT_OUTPUT') {
        if ((event.data as { stream?: string } | undefined)?.stream === 'stderr') {
          session.stderr.push(event.message);
          if (session.stderr.length > TAIL_LINES) session.stderr.shift();
        }
        outer.emit({ ...event, level: 'debug' });
        return;
      }
      if (event.code === 'SSH_SCRIPT' || event.code === 'SSH_WAIT') {
        outer.emit({ ...event, level: event.level === 'info' ? 'debug' : event.level });
        return;
      }
      outer.emit(event);
    },
    confirm: (request) => outer.confirm(request),
  };
}

function failure(
  session: Session,
  phase: Stage2Phase,
  reason: string,
  cause: unknown,
  host: IoHost,
): ToilError {
  if (session.stderr.length > 0)
    report(
      host,
      'error',
      'CLUSTER_BOOTSTRAP_STDERR',
      `Stage 2 on ${session.label} (${session.address}), phase ${phase}, last lines of stderr:\n${session.stderr.join('\n')}`,
      { nodeId: session.node.id, phase, stderr: [...session.stderr] },
      SOURCE,
    );
  return new ToilError(
    'BOOTSTRAP_FAILED',
    `Bootstrap stage 2 failed on ${session.label} (${session.address}) in phase ${phase}: ${reason}`,
    {
      hint: 'The node is left as it is for a look (toil ssh-cluster, or its console); stage 2 is idempotent, so fix the cause and launch again after destroy-cluster.',
      cause,
      data: { phase, nodeId: session.node.id, address: session.address, stderr: session.stderr },
    },
  );
}

/** Runs one phase on one node within the phase timeout; a failure names phase and node. */
async function step<T>(
  session: Session,
  phase: Stage2Phase,
  options: Stage2Options,
  work: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  session.stderr.length = 0;
  const seconds = options.phaseTimeoutMs / 1000;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Closing the connection ends the remote command (sshd hangs its session up).
      session.closed = true;
      session.connection?.close();
      reject(new Error(`timed out after ${seconds} s`));
    }, options.phaseTimeoutMs);
  });
  try {
    return await Promise.race([work(), timeout]);
  } catch (error) {
    if (ToilError.is(error) && error.code === 'BOOTSTRAP_FAILED') throw error;
    const last = session.stderr.at(-1);
    const reason =
      error instanceof Error && error.message.startsWith('timed out after')
        ? error.message
        : last
          ? last
          : error instanceof Error
            ? error.message
            : String(error);
    throw failure(session, phase, reason, error, options.host);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `work` on every session at once; the first failure wins (the others still finish). */
async function onEach(sessions: readonly Session[], work: (s: Session) => Promise<void>) {
  const results = await Promise.allSettled(sessions.map(work));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Runs one phase of {@link STAGE2_SCRIPT} as root. */
function script(session: Session, scriptPhase: string, args: readonly string[]): Promise<void> {
  return session.connection!.runScript(STAGE2_SCRIPT, {
    name: `bootstrap stage 2 (${scriptPhase})`,
    args: [scriptPhase, ...args],
    sudo: true,
  });
}

/**
 * The `autoscale` phase on the leader: as root, keeping the login's cloud settings (sshd gives
 * a node's login what the cloud's regional endpoints need), which sudo would otherwise drop.
 */
async function autoscaleScript(session: Session, config: string): Promise<void> {
  const status = await session.connection!.exec(
    [
      'sudo',
      '-n',
      `--preserve-env=${CLOUD_ENV_NAMES.join(',')}`,
      'bash',
      '-s',
      '--',
      'autoscale',
      config,
    ],
    {
      stdin: STAGE2_SCRIPT,
      onStderr: (chunk) => session.stderr.push(...chunk.toString().split('\n').filter(Boolean)),
    },
  );
  if (status.code !== 0) throw new Error(`the autoscale set-up exited with status ${status.code}`);
}

async function capture(
  connection: Stage2Connection,
  command: readonly string[],
  stdin?: Buffer,
): Promise<{ code: number | null; stdout: Buffer }> {
  const chunks: Buffer[] = [];
  const status = await connection.exec(command, {
    ...(stdin ? { stdin } : {}),
    onStdout: (chunk) => chunks.push(chunk),
  });
  return { code: status.code, stdout: Buffer.concat(chunks) };
}

/** A self-contained CLI install as one gzipped tar, and the id it is installed under. */
interface PreparedBundle {
  path: string;
  id: string;
  cleanup: () => void;
}

/**
 * The bundle to push: a `.tgz` as it is, or a directory packed here (GNU tar with sorted
 * names and fixed times, gzip without a time stamp, so the same directory gives the same id
 * and a re-run finds it installed).
 */
async function prepareBundle(path: string, version: string): Promise<PreparedBundle> {
  const hash = createHash('sha256');
  if (statSync(path).isFile()) {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return { path, id: `${version}-${hash.digest('hex').slice(0, 16)}`, cleanup: () => {} };
  }
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // An install stage 2 made (the leader's own, for the nodes it starts) keeps its id: the
  // cluster's workers must have toil at the same path as the leader (its NODE_OPTIONS name it).
  const installed = basename(path);
  const keepId =
    existsSync(join(path, '.toil-ts-complete')) &&
    new RegExp(`^${version.replace(/[.+]/g, '\\$&')}-[0-9a-f]{16}$`).test(installed);
  const dir = mkdtempSync(join(tmpdir(), 'toil-bundle-'));
  const out = join(dir, 'toil-cli.tgz');
  const tar = spawn(
    'tar',
    [
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-cf',
      '-',
      '-C',
      path,
      '.',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    tar.on('error', () => resolve(null));
    tar.on('close', (code) => resolve(code));
  });
  try {
    await pipeline(tar.stdout, createGzip(), hashing, createWriteStream(out, { mode: 0o600 }));
    const code = await exited;
    if (code !== 0) throw new Error(stderr.trim() || `tar exited with ${code}`);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new ToilError(
      'BOOTSTRAP_FAILED',
      `Could not pack --toilPackage ${path}: ${(error as Error).message}`,
      {
        hint: 'Packing a directory needs GNU tar here; or give a .tgz of the directory instead.',
        cause: error,
      },
    );
  }
  return {
    path: out,
    id: keepId ? installed : `${version}-${hash.digest('hex').slice(0, 16)}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function parseProbe(session: Session, text: string): Stage2Node {
  const fields = Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^(\w+)=(.*)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  const cpus = Number(fields.cpus);
  const memory = Number(fields.memory_mb);
  if (!fields.hostname || !(cpus > 0) || !(memory > 0))
    throw new Error(`the node's probe printed no host name, CPUs or memory: ${text.trim()}`);
  return {
    id: session.node.id,
    role: session.node.role,
    hostname: fields.hostname,
    address: session.node.privateAddress ?? session.address,
    cpus,
    // Slurm drains a node that has less memory than slurm.conf says: leave a margin.
    memoryMb: Math.floor(memory * 0.95),
  };
}

/** Phase `ssh`: connects to the node with its pinned host keys. */
function connectSession(s: Session, options: Stage2Options): Promise<void> {
  return step(s, 'ssh', options, async () => {
    const connection = await options.connect({
      host: s.address,
      username: s.node.sshUser,
      hostKeys: s.node.hostKeys,
      label: s.label,
      io: sessionHost(options.host, s),
      timeoutMs: options.phaseTimeoutMs,
    });
    if (s.closed) connection.close();
    else s.connection = connection;
  });
}

/** Phase `probe`: the node's host name, CPUs and memory. */
function probeSession(s: Session, options: Stage2Options): Promise<void> {
  return step(s, 'probe', options, async () => {
    const chunks: Buffer[] = [];
    const status = await s.connection!.exec(['bash', '-s', '--', 'probe'], {
      stdin: STAGE2_SCRIPT,
      onStdout: (chunk) => chunks.push(chunk),
      onStderr: (chunk) => s.stderr.push(...chunk.toString().split('\n').filter(Boolean)),
    });
    if (status.code !== 0) throw new Error(`the probe exited with status ${status.code}`);
    s.probe = parseProbe(s, Buffer.concat(chunks).toString('utf8'));
  });
}

/** Phase `toil`: this CLI from the registry, or the bundle pushed over SFTP. */
function installToil(
  s: Session,
  options: Stage2Options,
  bundle: PreparedBundle | undefined,
): Promise<void> {
  return step(s, 'toil', options, async () => {
    const source = options.toilPackage;
    if (source.kind === 'registry') return script(s, 'toil-registry', [source.version]);
    const marker = `/opt/toil-ts/${bundle!.id}/.toil-ts-complete`;
    const remote = `/tmp/toil-ts-bundle-${bundle!.id}.tgz`;
    const present = await s.connection!.exec(['test', '-f', marker]);
    if (present.code !== 0) await s.connection!.putFile(bundle!.path, remote, { mode: 0o600 });
    return script(s, 'toil-bundle', [source.version, bundle!.id, remote]);
  });
}

/** Phase `munge`: the cluster's key, on the command's stdin only. */
function installMungeKey(s: Session, options: Stage2Options, key: Buffer): Promise<void> {
  return step(s, 'munge', options, async () => {
    const status = await s.connection!.exec(['sudo', '-n', 'bash', '-c', MUNGE_KEY_SCRIPT], {
      stdin: key,
      onStderr: (chunk) => s.stderr.push(...chunk.toString().split('\n').filter(Boolean)),
    });
    if (status.code !== 0)
      throw new Error(`installing the munge key exited with status ${status.code}`);
  });
}

/**
 * Bootstrap stage 2, the same for every cloud: over SSH (host keys checked by the
 * connector), on every node of the cluster, phase by phase:
 *
 * 1. `ssh`: connect; `probe`: the node's host name, CPUs and memory;
 * 2. `packages`: Node.js >= 20.19 (kept when present), munge and Slurm;
 * 3. `toil`: this CLI at the launcher's exact version, from the npm registry or from the
 *    `--toilPackage` bundle pushed over SFTP (made self-contained: nodes need no registry);
 * 4. `munge`: the cluster's munge key (made here, or the leader's when it has one), on the
 *    command's stdin only, installed mode 0400 owned by munge; munged running;
 * 5. `slurm`: the same slurm.conf everywhere (leader = controller, one `NodeName` per worker
 *    with its address, CPUs and memory); slurmctld on the leader, then slurmd on workers;
 * 6. `slurm-ready`: `sinfo` on the leader shows every worker up.
 *
 * Every phase is idempotent and bounded by `phaseTimeoutMs`; a failure is `BOOTSTRAP_FAILED`
 * naming the node and phase, with the node's last stderr lines reported as
 * `CLUSTER_BOOTSTRAP_STDERR`. Nothing secret is reported or written to the launcher's disk.
 */
export async function runStage2(
  cluster: Stage2Cluster,
  options: Stage2Options,
): Promise<Stage2Report> {
  const { host } = options;
  const nodes = [cluster.leader, ...cluster.workers];
  const phaseMs: Record<string, number> = {};
  const span = startSpan(
    host,
    'CLUSTER_BOOTSTRAP',
    `Setting up ${nodes.length} node(s) of ${cluster.clusterName} over SSH (bootstrap stage 2)`,
    { total: STAGE2_PHASES.length, source: SOURCE, data: { nodes: nodes.map((n) => n.id) } },
  );
  const sessions: Session[] = nodes.map((node) => {
    const address = nodeAddress(node);
    if (!address)
      throw new ToilError(
        'BOOTSTRAP_FAILED',
        `The ${node.role} ${node.id} has no address to set it up over SSH.`,
        { hint: 'Wait until the node runs, then launch again.' },
      );
    return { node, address, label: `${node.role} ${node.id}`, stderr: [] };
  });
  const [leader, ...workers] = sessions as [Session, ...Session[]];
  let done = 0;
  const phase = async (name: Stage2Phase, work: () => Promise<void>) => {
    const started = Date.now();
    span.progress(done, `Stage 2: ${name}`, { phase: name });
    await work();
    phaseMs[name] = Date.now() - started;
    done += 1;
  };
  let bundle: PreparedBundle | undefined;
  try {
    await phase('bundle', async () => {
      if (options.toilPackage.kind === 'bundle')
        bundle = await prepareBundle(options.toilPackage.path, options.toilPackage.version);
    });
    await phase('ssh', () => onEach(sessions, (s) => connectSession(s, options)));
    await phase('probe', () => onEach(sessions, (s) => probeSession(s, options)));
    const nodeVersion = options.nodeVersion ?? process.versions.node;
    await phase('packages', () =>
      onEach(sessions, (s) =>
        step(s, 'packages', options, () => script(s, 'packages', [nodeVersion])),
      ),
    );
    await phase('toil', () => onEach(sessions, (s) => installToil(s, options, bundle)));
    await phase('munge', async () => {
      const given = options.mungeKey ? Buffer.from(options.mungeKey) : undefined;
      const key: Buffer =
        given ??
        (await step(leader, 'munge', options, async (): Promise<Buffer> => {
          const existing = await capture(leader.connection!, [
            'sudo',
            '-n',
            'sh',
            '-c',
            READ_MUNGE_KEY_SCRIPT,
          ]);
          return existing.code === 0 && existing.stdout.length >= 32
            ? existing.stdout
            : randomBytes(1024);
        }));
      await onEach(sessions, (s) => installMungeKey(s, options, key));
      key.fill(0);
    });
    const probes = sessions.map((s) => s.probe!);
    const slurmConf = renderSlurmConf({
      clusterName: cluster.clusterName,
      controller: { hostname: probes[0]!.hostname, address: probes[0]!.address },
      nodes: probes.slice(1).map((p): SlurmNodeLine => ({
        hostname: p.hostname,
        address: p.address,
        cpus: p.cpus,
        memoryMb: p.memoryMb,
      })),
      ...(cluster.autoscale ? { cloud: slurmCloudSettings(cluster.autoscale) } : {}),
    });
    const conf = Buffer.from(slurmConf).toString('base64');
    await phase('slurm', async () => {
      const autoscale = cluster.autoscale;
      if (autoscale)
        await step(leader, 'slurm', options, () =>
          autoscaleScript(leader, Buffer.from(JSON.stringify(autoscale)).toString('base64')),
        );
      await step(leader, 'slurm', options, () => script(leader, 'slurm', ['leader', conf]));
      await onEach(workers, (s) =>
        step(s, 'slurm', options, () => script(s, 'slurm', ['worker', conf])),
      );
    });
    await phase('slurm-ready', async () => {
      const alwaysOn = (cluster.autoscale?.groups ?? [])
        .filter((g) => g.min > 0)
        .map((g) => cloudGroupHostList(g.prefix, g.min));
      if (alwaysOn.length > 0)
        await step(leader, 'slurm-ready', options, () =>
          script(leader, 'power-up', [alwaysOn.join(',')]),
        );
      if (workers.length === 0) return;
      const seconds = Math.max(1, Math.floor(options.phaseTimeoutMs / 1000) - 1);
      await step(leader, 'slurm-ready', options, () =>
        script(leader, 'slurm-ready', [String(seconds), ...workers.map((w) => w.probe!.hostname)]),
      );
    });
    span.end(
      `${nodes.length} node(s) of ${cluster.clusterName} set up: Slurm controller on ${probes[0]!.hostname}, ${workers.length} worker(s) up`,
      { data: { phaseMs } },
    );
    return { nodes: probes, slurmConf, phaseMs };
  } catch (error) {
    span.end(`Bootstrap stage 2 of ${cluster.clusterName} failed`, { ok: false });
    throw error;
  } finally {
    for (const s of sessions) {
      s.closed = true;
      s.connection?.close();
    }
    bundle?.cleanup();
  }
}

/** A node Slurm's power saving resumed: the instance started for it and the Slurm node name. */
export interface CloudNodeJoin {
  node: ClusterNode;
  /** The Slurm node name it was resumed as (`w0-1`); its slurmd registers under it. */
  slurmName: string;
}

/** How {@link joinCloudNodes} runs: {@link Stage2Options} with the cluster's own key and conf. */
export interface JoinCloudNodesOptions extends Omit<Stage2Options, 'mungeKey'> {
  /** The cluster's munge key (the leader's). */
  mungeKey: Uint8Array;
  /** The cluster's slurm.conf (the leader's), with the cloud nodes in it. */
  slurmConf: string;
}

/**
 * Stage 2 for nodes the leader started for Slurm's power saving: the same phases as
 * {@link runStage2} on these nodes only (`ssh`, `probe`, `packages`, `toil`, `munge`), then
 * `slurmd -N <name>` with the leader's slurm.conf, so the node registers under the name Slurm
 * asked for. Nothing else in the cluster changes (its slurm.conf already lists every cloud
 * node), and the controller itself waits for the node (Slurm's ResumeTimeout).
 *
 * @throws ToilError `BOOTSTRAP_FAILED` naming the node and phase.
 */
export async function joinCloudNodes(
  nodes: readonly CloudNodeJoin[],
  options: JoinCloudNodesOptions,
): Promise<Stage2Node[]> {
  const sessions: Session[] = nodes.map(({ node, slurmName }) => {
    const address = nodeAddress(node);
    if (!address)
      throw new ToilError('BOOTSTRAP_FAILED', `The node ${node.id} has no address.`, {
        hint: 'Wait until the node runs.',
      });
    return { node, address, label: `${slurmName} (${node.id})`, stderr: [] };
  });
  const names = new Map(nodes.map((n) => [n.node.id, n.slurmName]));
  const span = startSpan(
    options.host,
    'CLUSTER_BOOTSTRAP',
    `Setting up ${[...names.values()].join(', ')} of the cluster over SSH (bootstrap stage 2)`,
    { total: 6, source: SOURCE, data: { nodes: nodes.map((n) => n.node.id) } },
  );
  let bundle: PreparedBundle | undefined;
  const key = Buffer.from(options.mungeKey);
  try {
    if (options.toilPackage.kind === 'bundle')
      bundle = await prepareBundle(options.toilPackage.path, options.toilPackage.version);
    await onEach(sessions, (s) => connectSession(s, options));
    span.progress(1, 'Stage 2: probe');
    await onEach(sessions, (s) => probeSession(s, options));
    span.progress(2, 'Stage 2: packages');
    const nodeVersion = options.nodeVersion ?? process.versions.node;
    await onEach(sessions, (s) =>
      step(s, 'packages', options, () => script(s, 'packages', [nodeVersion])),
    );
    span.progress(3, 'Stage 2: toil');
    await onEach(sessions, (s) => installToil(s, options, bundle));
    span.progress(4, 'Stage 2: munge');
    await onEach(sessions, (s) => installMungeKey(s, options, key));
    span.progress(5, 'Stage 2: slurm');
    const conf = Buffer.from(options.slurmConf).toString('base64');
    await onEach(sessions, (s) =>
      step(s, 'slurm', options, () => script(s, 'slurm', ['worker', conf, names.get(s.node.id)!])),
    );
    span.end(`${[...names.values()].join(', ')} set up: slurmd started`);
    return sessions.map((s) => s.probe!);
  } catch (error) {
    span.end('Bootstrap stage 2 of the new nodes failed', { ok: false });
    throw error;
  } finally {
    key.fill(0);
    for (const s of sessions) {
      s.closed = true;
      s.connection?.close();
    }
    bundle?.cleanup();
  }
}
