import {
  DescribeImagesCommand,
  EC2Client,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  consoleHostKeys,
  startSimCloud,
  strictSsh,
  sweepStaleRuns,
  useSimCloud,
  writeKnownHosts,
  type SimCloud,
} from '../simcloud/index.js';

const sim = useSimCloud('the simulated cloud tests');
const REGION = 'us-west-2';

function ec2(): EC2Client {
  return new EC2Client({
    endpoint: sim.aws().endpoint,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

/** Everything of a run that could be left on the machine. */
function leftovers(runId: string, dir: string): string[] {
  const out: string[] = [];
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const line of netns.split('\n')) if (line.includes(runId)) out.push(`netns ${line}`);
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  for (const line of links.split('\n')) if (line.includes(runId)) out.push(`link ${line}`);
  const mounts = readFileSync('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n')) if (line.includes(runId)) out.push(`mount ${line}`);
  if (existsSync(dir)) out.push(`dir ${dir}`);
  return out;
}

/** A process that exists and is not a zombie waiting for a parent that does not reap. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
}

sim.describe('simulated cloud', () => {
  let work: string;
  let key: string;
  let publicKey: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'simcloud-test-'));
    key = join(work, 'id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('makes an instance started through the AWS SDK a node that takes ssh at its private address as the user of its user data, with the host keys on its console, and removes it on termination', async () => {
    const client = ec2();
    const subnet = await sim.aws().subnet(REGION);
    const image = (await client.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
    const userData = [
      '#cloud-config',
      'users:',
      '  - name: toiltest',
      '    shell: /bin/bash',
      '    sudo: ALL=(ALL) NOPASSWD:ALL',
      '    ssh_authorized_keys:',
      `      - ${publicKey}`,
      'runcmd:',
      '  - echo stage-one-ran-on-$(hostname)',
      "  - [sh, -c, 'echo written-to-dev-console > /dev/console']",
      '',
    ].join('\n');
    const run = await client.send(
      new RunInstancesCommand({
        ImageId: image,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        SubnetId: subnet.subnetId,
        UserData: Buffer.from(userData).toString('base64'),
      }),
    );
    const instance = run.Instances![0]!;
    const id = instance.InstanceId!;
    const address = instance.PrivateIpAddress!;
    expect(sim.cloud().inSubnet(address)).toBe(true);
    await sim.cloud().waitFor(`node for ${id}`, () => sim.cloud().node(id) !== undefined);

    const console = Buffer.from(
      (await client.send(new GetConsoleOutputCommand({ InstanceId: id }))).Output!,
      'base64',
    ).toString('utf8');
    const hostname = `ip-${address.replace(/\./g, '-')}`;
    expect(console).toContain(`stage-one-ran-on-${hostname}`);
    expect(console).toContain('written-to-dev-console');
    const { fingerprints, publicKeys } = consoleHostKeys(console);
    expect(publicKeys.map((k) => k.split(' ')[0]).sort()).toEqual([
      'ecdsa-sha2-nistp256',
      'ssh-ed25519',
    ]);
    const knownHosts = join(work, 'known_hosts');
    expect(writeKnownHosts(knownHosts, address, publicKeys)).toEqual([...fingerprints].sort());

    const session = await strictSsh(
      key,
      knownHosts,
      `toiltest@${address}`,
      'id -un; hostname; echo "$AWS_ENDPOINT_URL"; sudo -n id -un; ip -4 -o addr show eth0',
    );
    expect(session.stderr).not.toMatch(/WARNING|denied/);
    const [user, host, endpoint, root, eth0] = session.stdout.split('\n');
    expect([session.code, user, host, endpoint, root]).toEqual([
      0,
      'toiltest',
      hostname,
      sim.aws().nodeEndpoint,
      'root',
    ]);
    expect(eth0).toContain(`${address}/24`);

    const netns = sim.cloud().node(id)!.netns;
    await client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await sim.cloud().waitFor(`removal of ${id}`, () => sim.cloud().node(id) === undefined);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(netns);
    const after = await strictSsh(key, knownHosts, `toiltest@${address}`, 'true');
    expect(after.code).not.toBe(0);
    client.destroy();
  });

  it('refuses loudly a launch that names no subnet of the simulated cloud, before moto runs anything', async () => {
    const client = ec2();
    const image = 'ami-12c6146b';
    const problems = sim.cloud().problems.length;
    await expect(
      client.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 })),
    ).rejects.toMatchObject({ name: 'SimCloudRefused' });
    expect(sim.cloud().problems.slice(problems).join('\n')).toMatch(/names no subnet/);
    sim.cloud().problems.splice(problems);
    client.destroy();
  });

  it('takes a node whose instance comes from any source, kills what runs in it by pid and leaves nothing on stop', async () => {
    const cloud: SimCloud = await startSimCloud();
    const address = cloud.allocateAddress();
    const live = true;
    await cloud.addSource({
      name: 'fake',
      list: async () => [{ id: 'vm-1', live, privateAddress: address, userData: '' }],
    });
    expect(cloud.node('vm-1')).toMatchObject({ address, users: ['admin'] });
    const started = await cloud.exec('vm-1', ['bash', '-c', 'sleep 600 >/dev/null 2>&1 & echo $!']);
    const pid = Number(started.stdout.trim());
    expect(running(pid)).toBe(true);
    await cloud.stop();
    expect(running(pid)).toBe(false);
    expect(leftovers(cloud.runId, cloud.dir)).toEqual([]);
  });

  it('refuses an instance whose address is outside the run subnet and fails its stop', async () => {
    const cloud = await startSimCloud();
    await cloud.addSource({
      name: 'fake',
      list: async () => [{ id: 'vm-x', live: true, privateAddress: '192.0.2.77', userData: '' }],
    });
    expect(cloud.node('vm-x')).toBeUndefined();
    await expect(cloud.stop()).rejects.toThrow(/192\.0\.2\.77 is outside the run's subnet/);
    expect(leftovers(cloud.runId, cloud.dir)).toEqual([]);
  });

  it('sweeps the nodes of a test process that was killed before it could clean up', async () => {
    const script = join(work, 'dies.ts');
    writeFileSync(
      script,
      [
        `import { startSimCloud } from ${JSON.stringify(join(__dirname, '..', 'simcloud', 'index.ts'))};`,
        'void (async () => {',
        '  const cloud = await startSimCloud();',
        '  const address = cloud.allocateAddress();',
        "  await cloud.addSource({ name: 'fake', list: async () => [{ id: 'vm-1', live: true, privateAddress: address, userData: '' }] });",
        "  process.stdout.write(JSON.stringify({ runId: cloud.runId, dir: cloud.dir }) + '\\n');",
        '  setInterval(() => {}, 1000);',
        '})();',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('exit', (code) =>
        reject(new Error(`the child exited (${code}) before its node was up`)),
      );
    });
    const { runId, dir } = JSON.parse(line) as { runId: string; dir: string };
    expect(leftovers(runId, dir).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(sweepStaleRuns()).toContain(dir);
    expect(leftovers(runId, dir)).toEqual([]);
  });
});
