import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { USERS_LOCK } from '../users-lock.js';
import { parseStageOne, type StageOne } from './cloud-config.js';

/** The machine side: bridge, namespaces, mounts (see node.sh). */
export const NODE_SH = join(__dirname, 'node.sh');
const RUN_PREFIX = 'toil-simcloud-';

/** A cloud instance as a source (moto's EC2, the Compute Engine fake) reports it. */
export interface SimInstance {
  /** The provider's id: EC2 `i-…`, or the GCE instance name. Unique within a source. */
  readonly id: string;
  /** Whether the instance is (or is becoming) a running machine: pending/running, PROVISIONING/STAGING/RUNNING. */
  readonly live: boolean;
  /** The address the cloud gave it inside the VPC / network. */
  readonly privateAddress?: string;
  /** A public address: the simulated cloud refuses instances that have one. */
  readonly publicAddress?: string;
  /** Short host name (EC2: `ip-10-1-2-4`); derived from the address when absent. */
  readonly hostname?: string;
  /** Fully qualified name for the nodes' hosts file. */
  readonly fqdn?: string;
  /** User data as text (already decoded from base64). */
  readonly userData: string;
  /**
   * Extra environment for login sessions on the node (through sshd's `SetEnv`), e.g. the
   * endpoint and fake credentials that stand in for an instance profile.
   */
  readonly sessionEnv?: Readonly<Record<string, string>>;
  /**
   * Files the node has from its first moment, as the image or the cloud's guest agent
   * would give them (root's, before stage 1), e.g. the credentials `sessionEnv` names.
   */
  readonly files?: readonly { path: string; content: string; mode: string }[];
}

/** Where instances come from: one per fake cloud API. */
export interface InstanceSource {
  /** `ec2`, `gce`: keys nodes as `name/id`. */
  readonly name: string;
  /** Every instance the cloud knows now, in any state. */
  list(): Promise<SimInstance[]>;
}

/** A host key of a node, as stage 1 printed it to the console. */
export interface SimHostKey {
  readonly type: string;
  /** `ssh-ed25519 AAAA… root@host` */
  readonly publicKey: string;
  /** `SHA256:…` */
  readonly fingerprint: string;
}

/** A node of the simulated cloud: a real machine-like thing for one instance. */
export interface SimNode {
  /** `source/id`, e.g. `ec2/i-0abc…`. */
  readonly key: string;
  readonly source: string;
  readonly instanceId: string;
  readonly address: string;
  readonly hostname: string;
  /** The network namespace (`ip netns`). */
  readonly netns: string;
  /** Login users stage 1 created. */
  readonly users: readonly string[];
  readonly hostKeys: readonly SimHostKey[];
}

/** Options of {@link startSimCloud}. */
export interface SimCloudOptions {
  /** Called with every line of tooling progress (defaults to nothing). */
  readonly log?: (line: string) => void;
  /** How often sources are polled, in ms (default 500); triggers also reconcile at once. */
  readonly pollMs?: number;
}

/** What happened to one instance. */
type NodeRecord =
  | { state: 'starting'; promise: Promise<void>; node?: SimNode }
  | { state: 'up'; node: SimNode }
  | { state: 'stopping'; node: SimNode; promise: Promise<void> }
  | { state: 'refused'; reason: string }
  | { state: 'failed'; reason: string; node?: SimNode };

function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function ipToInt(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

function intToIp(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs node.sh; rejects with its stderr on a non-zero exit. */
function nodeSh(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return runChild(['bash', NODE_SH, ...args], input).then((r) => {
    if (r.code !== 0)
      throw new Error(`node.sh ${args[0]} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r;
  });
}

function runChild(
  argv: string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A command that exits without reading its input (EPIPE) is judged by its exit status.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * Tears down simulated-cloud runs whose owning process is gone (a test process that was
 * SIGKILLed): their namespaces, veths, bridge, processes and directories. Runs of live
 * processes are left alone.
 */
export function sweepStaleRuns(): string[] {
  const swept: string[] = [];
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(RUN_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8').trim());
    } catch {
      // no owner file: a run that died while starting
    }
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    spawnSync('bash', [NODE_SH, 'run-down', dir], { stdio: 'ignore', timeout: 120_000 });
    swept.push(dir);
  }
  return swept;
}

/** Picks a free 10.x.y.0/24 that no route or address of this machine overlaps. */
function chooseSubnet(): number {
  const used = spawnSync('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], {
    encoding: 'utf8',
  }).stdout;
  const taken = used + spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).stdout;
  for (let attempt = 0; attempt < 200; attempt++) {
    const b = 100 + (randomBytes(1)[0]! % 150);
    const c = randomBytes(1)[0]!;
    if (!taken.includes(`10.${b}.`)) return ipToInt(`10.${b}.${c}.0`)!;
  }
  throw new Error('simcloud: found no free 10.x.y.0/24 for the run');
}

/**
 * The simulated cloud of one test run: a bridge holding the subnet's gateway address, and a
 * node (network namespace with the instance's private address, its own mounts, host name,
 * sshd, users) for every live instance that an attached {@link InstanceSource} reports.
 * Use {@link startSimCloud}; see README.md.
 */
export class SimCloud {
  /** Random suffix of every name this run makes. */
  readonly runId: string;
  /** Everything on disk: `/tmp/toil-simcloud-<runId>`. */
  readonly dir: string;
  /** The run's subnet, `10.x.y.0/24`. */
  readonly cidr: string;
  /** The subnet's `.1`: the root namespace's address on the bridge (VPC router). */
  readonly gateway: string;
  /** Everything the tooling refused or failed at; {@link stop} throws when it is not empty. */
  readonly problems: string[] = [];

  private readonly network: number;
  private readonly bridge: string;
  private readonly records = new Map<string, NodeRecord>();
  private readonly sources: InstanceSource[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly log: (line: string) => void;
  private readonly pollMs: number;
  private counter = 0;
  private nextAllocation = 4;
  private reconciling: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly exitHook = () => {
    spawnSync('bash', [NODE_SH, 'run-down', this.dir], { stdio: 'ignore', timeout: 60_000 });
  };

  /** @internal use {@link startSimCloud} */
  constructor(options: SimCloudOptions = {}) {
    this.runId = randomBytes(3).toString('hex');
    this.dir = join(tmpdir(), `${RUN_PREFIX}${this.runId}`);
    this.network = chooseSubnet();
    this.cidr = `${intToIp(this.network)}/24`;
    this.gateway = intToIp(this.network + 1);
    this.bridge = `scb${this.runId}`;
    this.log = options.log ?? (() => {});
    this.pollMs = options.pollMs ?? 500;
  }

  /** @internal */
  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'owner'), `${process.pid}\n`);
    process.once('exit', this.exitHook);
    await nodeSh(['run-up', this.dir, this.bridge, this.gateway, '24']);
    this.timer = setInterval(() => void this.reconcile().catch(() => {}), this.pollMs);
    this.timer.unref();
    this.log(`simcloud ${this.runId}: subnet ${this.cidr}, gateway ${this.gateway}`);
  }

  /** Attaches a cloud whose instances become nodes, and reconciles at once. */
  async addSource(source: InstanceSource): Promise<void> {
    this.sources.push(source);
    await this.reconcile();
  }

  /**
   * The next unused address of the subnet, for a fake cloud that assigns addresses itself
   * (the Compute Engine fake). moto assigns its own from the subnet it was given.
   */
  allocateAddress(): string {
    const used = new Set(this.nodes().map((n) => n.address));
    while (this.nextAllocation < 255) {
      const candidate = intToIp(this.network + this.nextAllocation++);
      if (!used.has(candidate)) return candidate;
    }
    throw new Error(`simcloud: subnet ${this.cidr} is full`);
  }

  /** Whether `address` is a host address of this run's subnet (not network, gateway or broadcast). */
  inSubnet(address: string): boolean {
    const value = ipToInt(address);
    return (
      value !== undefined &&
      value >>> 8 === this.network >>> 8 &&
      (value & 255) > 1 &&
      (value & 255) < 255
    );
  }

  /** Nodes that are up now. */
  nodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const record of this.records.values()) if (record.state === 'up') out.push(record.node);
    return out;
  }

  /**
   * Instances of `source` (every source when absent) whose node is coming up, up, or being
   * removed: 0 means none of their namespaces, processes or files is left on the machine.
   */
  nodesInFlight(source?: string): number {
    let count = 0;
    for (const [key, record] of this.records)
      if (
        (record.state === 'starting' || record.state === 'up' || record.state === 'stopping') &&
        (source === undefined || key.startsWith(`${source}/`))
      )
        count += 1;
    return count;
  }

  /** The node of an instance id (any source), while it is up or being removed. */
  node(instanceId: string): SimNode | undefined {
    for (const record of this.records.values())
      if (
        (record.state === 'up' || record.state === 'stopping') &&
        record.node.instanceId === instanceId
      )
        return record.node;
    return undefined;
  }

  /** Whether any source has reported this instance id (up, starting, refused or failed). */
  knows(instanceId: string): boolean {
    for (const key of this.records.keys()) if (key.endsWith(`/${instanceId}`)) return true;
    return false;
  }

  /** The node's console so far (what stage 1 printed); empty while it boots; undefined if unknown. */
  consoleOutput(instanceId: string): string | undefined {
    for (const [key, record] of this.records) {
      if (!key.endsWith(`/${instanceId}`)) continue;
      if (record.state === 'refused' || !existsSync(this.consoleFile(key))) return '';
      return readFileSync(this.consoleFile(key), 'utf8');
    }
    return undefined;
  }

  /**
   * Polls every source once and makes the machine match: a node for each live instance, none
   * for the others. Concurrent calls share one pass (and one more after it when called during
   * a pass, so a trigger is never lost).
   */
  reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.reconciling) {
      this.again = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.reconciling = undefined;
      for (const wake of this.waiters) wake();
    });
    return this.reconciling;
  }

  /** Resolves when `predicate` holds after a reconcile pass (or now); rejects after `timeoutMs`. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let first = true;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`simcloud: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
        // Later looks wait for the next pass (a cloud event or the poll timer): passes whose
        // sources answer from memory do no I/O, and a loop of them starved the event loop
        // (the Compute Engine fake in this process stopped answering until the deadline).
        if (first) void this.reconcile();
      });
      first = false;
    }
  }

  /** Runs a command inside a node (as root, or as `user` with a login-like environment). */
  async exec(
    instanceId: string,
    argv: string[],
    options: { user?: string; input?: string } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const node = this.node(instanceId);
    if (!node) throw new Error(`simcloud: no node is up for instance ${instanceId}`);
    return this.execIn(node.key, node.netns, argv, options);
  }

  private execIn(
    key: string,
    netns: string,
    argv: string[],
    options: { user?: string; input?: string } = {},
  ) {
    const inner = options.user
      ? ['runuser', '-l', options.user, '-c', argv.map(shq).join(' ')]
      : argv;
    return runChild(
      ['bash', NODE_SH, 'exec', this.dir, this.nodeDirName(key), netns, '--', ...inner],
      options.input,
    );
  }

  private nodeDirName(key: string): string {
    return key.replace(/[^A-Za-z0-9-]/g, '_');
  }

  private problem(message: string): void {
    this.problems.push(message);
    process.stderr.write(`\n!! simcloud ${this.runId}: ${message}\n`);
    this.log(`PROBLEM: ${message}`);
  }

  private async pass(): Promise<void> {
    const seen = new Map<string, SimInstance>();
    for (const source of this.sources) {
      for (const instance of await source.list())
        seen.set(`${source.name}/${instance.id}`, instance);
    }
    const work: Promise<void>[] = [];
    for (const [key, instance] of seen) {
      const record = this.records.get(key);
      if (instance.live && !record) work.push(this.bringUp(key, instance));
      if (!instance.live && record && (record.state === 'up' || record.state === 'failed'))
        work.push(this.takeDown(key));
    }
    for (const [key, record] of this.records) {
      if (!seen.has(key) && (record.state === 'up' || record.state === 'failed'))
        work.push(this.takeDown(key));
    }
    await Promise.all(work);
  }

  private async bringUp(key: string, instance: SimInstance): Promise<void> {
    const address = instance.privateAddress;
    const refuse = (reason: string) => {
      this.records.set(key, { state: 'refused', reason });
      this.problem(`refused to make a node for ${key}: ${reason}`);
    };
    if (instance.publicAddress)
      return refuse(
        `it has a public address (${instance.publicAddress}); test clusters launch into subnet ${this.cidr} without public addresses`,
      );
    if (!address) return; // no address yet: next pass
    if (!this.inSubnet(address))
      return refuse(
        `its address ${address} is outside the run's subnet ${this.cidr}; nothing else is routed`,
      );
    if (
      this.nodes().some((n) => n.address === address) ||
      [...this.records.values()].some((r) => r.state === 'starting' && r.node?.address === address)
    )
      return refuse(`its address ${address} belongs to another node`);
    const index = ++this.counter;
    const hostname = instance.hostname ?? `ip-${address.replace(/\./g, '-')}`;
    const node: SimNode = {
      key,
      source: key.split('/')[0]!,
      instanceId: instance.id,
      address,
      hostname,
      netns: `sc-${this.runId}-${index}`,
      users: [],
      hostKeys: [],
    };
    let stageOne: StageOne;
    try {
      stageOne = parseStageOne(instance.userData);
    } catch (error) {
      return refuse((error as Error).message);
    }
    const promise = this.boot(node, `sc${this.runId}v${index}`, instance, stageOne).then(
      (booted) => {
        this.records.set(key, { state: 'up', node: booted });
        this.log(`node ${key} up at ${address} (${hostname})`);
      },
      (error: Error) => {
        this.records.set(key, { state: 'failed', reason: error.message, node });
        this.problem(`node for ${key} failed to boot: ${error.message}`);
      },
    );
    this.records.set(key, { state: 'starting', promise, node });
    await promise;
  }

  private consoleFile(key: string): string {
    return join(this.dir, 'nodes', this.nodeDirName(key), 'console.log');
  }

  private console(key: string, text: string): void {
    if (text === '') return;
    appendFileSync(this.consoleFile(key), text.endsWith('\n') ? text : `${text}\n`);
  }

  private rewriteHosts(): void {
    const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
    for (const record of this.records.values()) {
      const node = record.state === 'up' || record.state === 'starting' ? record.node : undefined;
      if (node) lines.push(`${node.address} ${node.hostname}`);
    }
    // Written in place (same inode): every node bind-mounts this file as /etc/hosts.
    writeFileSync(join(this.dir, 'hosts'), `${lines.join('\n')}\n`);
  }

  private async boot(
    node: SimNode,
    veth: string,
    instance: SimInstance,
    stage: StageOne,
  ): Promise<SimNode> {
    const started = Date.now();
    const dirName = this.nodeDirName(node.key);
    const since = () => ((Date.now() - started) / 1000).toFixed(2);
    const ci = 'Cloud-init v. 22.4.2-simcloud';
    await nodeSh([
      'node-up',
      this.dir,
      dirName,
      node.netns,
      veth,
      this.bridge,
      node.address,
      '24',
      node.hostname,
    ]);
    this.console(
      node.key,
      `[    0.000000] simulated node for ${node.key} (${node.hostname}, ${node.address})`,
    );
    this.rewriteHosts();
    const root = (script: string) => this.execIn(node.key, node.netns, ['bash', '-c', script]);
    const must = async (what: string, script: string) => {
      const r = await root(script);
      if (r.code !== 0) throw new Error(`${what}: ${(r.stderr || r.stdout).trim()}`);
      return r.stdout;
    };
    const consoleRun = async (module: string, commands: string) => {
      const r = await root(commands);
      this.console(node.key, r.stdout + r.stderr);
      if (r.code !== 0)
        this.console(
          node.key,
          `${new Date().toUTCString()} - util.py[WARNING]: Failed running ${module} (exit ${r.code})`,
        );
    };
    if (instance.files?.length)
      await must(
        'image files',
        [
          'set -e',
          ...instance.files.map((f) =>
            [
              `mkdir -p "$(dirname ${shq(f.path)})"`,
              `printf %s ${shq(Buffer.from(f.content).toString('base64'))} | base64 -d > ${shq(f.path)}`,
              `chmod ${shq(f.mode)} ${shq(f.path)}`,
            ].join('\n'),
          ),
        ].join('\n'),
      );
    this.console(
      node.key,
      `${ci} running 'init' at ${new Date().toUTCString()}. Up ${since()} seconds.`,
    );
    if (stage.bootcmd.length) await consoleRun('bootcmd', stage.bootcmd.join('\n'));
    const writeFile = (f: StageOne['writeFiles'][number]) =>
      [
        `mkdir -p "$(dirname ${shq(f.path)})"`,
        `printf %s ${shq(f.content.toString('base64'))} | base64 -d ${f.append ? '>>' : '>'} ${shq(f.path)}`,
        `chmod ${shq(f.permissions ?? '0644')} ${shq(f.path)}`,
        `chown ${shq(f.owner ?? 'root:root')} ${shq(f.path)}`,
      ].join('\n');
    const early = stage.writeFiles.filter((f) => !f.defer).map(writeFile);
    if (early.length) await must('write_files', `set -e\n${early.join('\n')}`);
    const users: string[] = [];
    // Under the lock this machine's test users are made under (see USERS_LOCK).
    const userScript: string[] = ['set -e', `exec 9>${USERS_LOCK}`, 'flock 9'];
    for (const u of stage.users) {
      users.push(u.name);
      for (const g of u.groups)
        userScript.push(`getent group ${shq(g)} >/dev/null || groupadd ${shq(g)}`);
      // /etc falls through to this machine's: a user this machine made since (another test's)
      // may hold the uid asked for, which a fresh image would not have. Drop it in this node.
      if (u.uid !== undefined)
        userScript.push(
          `other=$(getent passwd ${u.uid} | cut -d: -f1); if [ -n "$other" ] && [ "$other" != ${shq(u.name)} ]; then userdel "$other" 2>/dev/null || true; fi`,
        );
      userScript.push(
        `id -u ${shq(u.name)} >/dev/null 2>&1 || useradd -m -s ${shq(u.shell)} ${u.groups.length ? `-G ${shq(u.groups.join(','))}` : ''} ${u.uid === undefined ? '' : `-u ${u.uid}`} ${shq(u.name)}`,
        `usermod -p '*' ${shq(u.name)}`,
        `home=$(getent passwd ${shq(u.name)} | cut -d: -f6)`,
        `install -d -m 700 -o ${shq(u.name)} -g ${shq(u.name)} "$home/.ssh"`,
        `printf '%s\\n' ${u.sshAuthorizedKeys.map(shq).join(' ') || "''"} | grep -v '^$' > "$home/.ssh/authorized_keys" || true`,
        `chown ${shq(u.name)}: "$home/.ssh/authorized_keys"; chmod 600 "$home/.ssh/authorized_keys"`,
      );
      if (u.sudo.length)
        userScript.push(
          'mkdir -p /etc/sudoers.d',
          ...u.sudo.map(
            (rule) =>
              `printf '%s %s\\n' ${shq(u.name)} ${shq(rule)} >> /etc/sudoers.d/90-cloud-init-users`,
          ),
          'chmod 0440 /etc/sudoers.d/90-cloud-init-users',
        );
    }
    await must('users', userScript.join('\n'));
    const keygen = await must(
      'ssh host keys',
      [
        'set -e',
        'rm -f /etc/ssh/ssh_host_*',
        ...stage.hostKeyTypes.map(
          (t) =>
            `ssh-keygen -q -t ${shq(t)} -N '' -C root@${shq(node.hostname)} -f /etc/ssh/ssh_host_${shq(t)}_key </dev/null`,
        ),
        ...stage.hostKeyTypes.map(
          (t) =>
            `printf '%s\\t%s\\t%s\\n' ${shq(t)} "$(ssh-keygen -l -E sha256 -f /etc/ssh/ssh_host_${shq(t)}_key.pub)" "$(cat /etc/ssh/ssh_host_${shq(t)}_key.pub)"`,
        ),
      ].join('\n'),
    );
    const hostKeys: SimHostKey[] = keygen
      .trim()
      .split('\n')
      .map((line) => {
        const [type, fp, publicKey] = line.split('\t');
        return { type: type!, fingerprint: fp!.split(' ')[1]!, publicKey: publicKey! };
      });
    const fpLines = keygen
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([type]) => !stage.fingerprintBlacklist.some((b) => b.includes(type!)));
    const env = { ...(instance.sessionEnv ?? {}) };
    const sshdConfig = [
      '# simcloud node sshd (this node only)',
      'Port 22',
      `ListenAddress ${node.address}`,
      ...stage.hostKeyTypes.map((t) => `HostKey /etc/ssh/ssh_host_${t}_key`),
      'PidFile /run/sshd.pid',
      'AuthorizedKeysFile .ssh/authorized_keys',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'Subsystem sftp internal-sftp',
      'PermitTTY yes',
      'PrintMotd no',
      'UseDNS no',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'AcceptEnv LANG LC_*',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      ...(Object.keys(env).length
        ? [
            `SetEnv ${Object.entries(env)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`,
          ]
        : []),
    ].join('\n');
    await must(
      'sshd',
      [
        'set -e',
        `printf '%s\\n' ${shq(sshdConfig)} > /etc/ssh/sshd_config`,
        'mkdir -p /run/sshd && chmod 0755 /run/sshd',
        'env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/log/sshd.log',
      ].join('\n'),
    );
    await this.waitForPort(node.address, 22);
    this.console(
      node.key,
      `${ci} running 'modules:final' at ${new Date().toUTCString()}. Up ${since()} seconds.`,
    );
    const late = stage.writeFiles.filter((f) => f.defer).map(writeFile);
    if (late.length) await must('write_files (deferred)', `set -e\n${late.join('\n')}`);
    if (stage.runcmd.length)
      await consoleRun('scripts-user (runcmd)', `#!/bin/sh\n${stage.runcmd.join('\n')}`);
    if (stage.script)
      await consoleRun(
        'scripts-user',
        `f=$(mktemp); printf '%s' ${shq(stage.script)} > "$f"; chmod +x "$f"; "$f"; rc=$?; rm -f "$f"; exit $rc`,
      );
    if (stage.keysToConsole) {
      const fp = fpLines.map(([, f]) => `ec2: ${f}`);
      const keys = keygen
        .trim()
        .split('\n')
        .map((line) => line.split('\t'))
        .filter(([type]) => !stage.keyBlacklist.some((b) => b.includes(type!)))
        .map(([, , k]) => k!);
      this.console(
        node.key,
        [
          'ec2: ',
          'ec2: #############################################################',
          'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
          ...fp,
          'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
          'ec2: #############################################################',
          '-----BEGIN SSH HOST KEY KEYS-----',
          ...keys,
          '-----END SSH HOST KEY KEYS-----',
        ].join('\n'),
      );
    }
    this.console(
      node.key,
      `${ci} finished at ${new Date().toUTCString()}. Datasource DataSourceSimCloud.  Up ${since()} seconds`,
    );
    return { ...node, users, hostKeys };
  }

  private async waitForPort(address: string, port: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = new Socket();
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.connect(port, address);
      });
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`sshd on ${address}:${port} did not start within 20 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async takeDown(key: string): Promise<void> {
    const record = this.records.get(key);
    if (record?.state === 'stopping') return record.promise;
    const promise = (async () => {
      try {
        await nodeSh(['node-down', this.dir, this.nodeDirName(key)]);
      } finally {
        this.records.delete(key);
        this.rewriteHosts();
      }
    })();
    if (record?.state === 'up')
      this.records.set(key, { state: 'stopping', node: record.node, promise });
    await promise;
    if (record?.state === 'up') this.log(`node ${key} removed`);
  }

  /**
   * Removes every node (killing, by pid, each process in its namespace), the bridge and the
   * run's directory. Then throws if the run refused or failed anything (see {@link problems}),
   * so a test that went to an address outside the run's subnet fails loudly; a test of the
   * refusal itself passes `{ allowProblems: true }`.
   */
  async stop(options: { allowProblems?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.reconciling?.catch(() => {});
    for (const record of this.records.values())
      if (record.state === 'starting') await record.promise;
    await nodeSh(['run-down', this.dir]);
    process.removeListener('exit', this.exitHook);
    if (existsSync(this.dir))
      throw new Error(`simcloud: ${this.dir} is still there after run-down`);
    if (this.problems.length && !options.allowProblems)
      throw new Error(`simcloud ${this.runId} refused or failed:\n- ${this.problems.join('\n- ')}`);
  }
}

/**
 * Starts a simulated cloud: sweeps stale runs of dead processes, picks a free 10.x.y.0/24,
 * makes the bridge with its gateway address. Attach sources (see `ec2.ts`) to get nodes.
 */
export async function startSimCloud(options: SimCloudOptions = {}): Promise<SimCloud> {
  sweepStaleRuns();
  const cloud = new SimCloud(options);
  try {
    await cloud.start();
  } catch (error) {
    await cloud.stop().catch(() => {});
    throw error;
  }
  return cloud;
}
