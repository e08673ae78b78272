import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingHost } from '@toil/core';
import {
  SLURM_NODE_TAG,
  elasticNodeOf,
  leaderPowerContext,
  readAutoscaleConfig,
  readLedger,
  runPowerAction,
  type AddNodesOptions,
  type AutoscaleConfig,
  type ClusterNode,
  type PowerContext,
  type Provisioner,
  type WorkerNodeType,
} from '@toil/provisioner';
import { thrownToilError } from '../../../../tooling/test-env/errors.js';

const config: AutoscaleConfig = {
  version: 1,
  clusterName: 'c1',
  provisioner: 'aws',
  zone: 'us-west-2a',
  nodeStorageGb: 20,
  phaseTimeoutSeconds: 5,
  idleSeconds: 60,
  groups: [
    { prefix: 'w0-', instanceTypes: ['t2.medium'], min: 0, max: 3, cpus: 2, memoryMb: 3686 },
    {
      prefix: 'w1-',
      instanceTypes: ['t2.small'],
      spotBid: 0.2,
      min: 0,
      max: 1,
      cpus: 1,
      memoryMb: 1800,
    },
  ],
};

function node(
  id: string,
  tags: Record<string, string>,
  role: ClusterNode['role'] = 'worker',
): ClusterNode {
  return {
    id,
    name: id,
    clusterName: 'c1',
    role,
    nodeType: 't2.medium',
    preemptible: false,
    state: 'running',
    privateAddress: '10.0.0.9',
    sshUser: 'toil',
    hostKeys: [{ algorithm: 'ssh-ed25519', sha256: 'SHA256:x' }],
    launchTime: 0,
    tags: { clusterName: 'c1', ...tags },
  };
}

/** An in-memory cloud: addNodes either starts a node or fails, terminateNodes records. */
class FakeProvisioner implements Partial<Provisioner> {
  readonly name = 'fake';
  nodes: ClusterNode[] = [node('i-leader', {}, 'leader')];
  added: { type: WorkerNodeType; count: number; options: AddNodesOptions }[] = [];
  terminated: string[] = [];
  failAdd: string | undefined;
  private next = 0;
  listNodes = async () => this.nodes.filter((n) => n.state !== 'terminated');
  addNodes = async (_c: string, type: WorkerNodeType, count: number, options: AddNodesOptions) => {
    this.added.push({ type, count, options });
    if (this.failAdd) throw new Error(this.failAdd);
    const added = node(`i-${++this.next}`, options.tags ?? {});
    this.nodes.push(added);
    return [added];
  };
  terminateNodes = async (_c: string, ids: readonly string[]) => {
    this.terminated.push(...ids);
    for (const n of this.nodes) if (ids.includes(n.id)) n.state = 'terminated';
  };
}

/** A cloud whose API prices spot t2.medium at $0.0139/h and gives no on-demand prices. */
class PricedProvisioner extends FakeProvisioner {
  asked: { nodeType: string; spot: boolean; zone?: string; at?: number }[] = [];
  hourlyPrice = async (nodeType: string, options: { spot: boolean; at?: number }) => {
    this.asked.push({ nodeType, ...options });
    return options.spot ? { usdPerHour: 0.0139 } : { noPrice: 'the Price List API: 404' };
  };
}

function context(
  provisioner: FakeProvisioner,
  sinfoDown = '',
  ledgerPath?: string,
): { context: PowerContext; slurm: string[][]; host: RecordingHost } {
  const slurm: string[][] = [];
  const host = new RecordingHost();
  return {
    slurm,
    host,
    context: {
      host,
      config,
      provisioner: provisioner as unknown as Provisioner,
      slurm: async (argv) => {
        slurm.push([...argv]);
        if (argv[1] === 'show' && argv[2] === 'hostnames')
          return argv[3] === 'w0-[0-1]' ? 'w0-0\nw0-1\n' : `${argv[3]}\n`;
        if (argv[0] === 'sinfo') return sinfoDown;
        return '';
      },
      connect: async () => {
        throw new Error('no route to the node');
      },
      sshPublicKey: 'ssh-ed25519 AAAA leader',
      sshUid: 1001,
      mungeKey: Buffer.alloc(32, 1),
      slurmConf: 'ClusterName=c1\n',
      toilPackage: { kind: 'registry', version: '1.0.0' },
      ...(ledgerPath ? { ledgerPath } : {}),
    },
  };
}

describe('the power-saving entry point', () => {
  it("suspend terminates the instances tagged with Slurm's node names, and no others", async () => {
    const cloud = new FakeProvisioner();
    cloud.nodes.push(
      node('i-a', { [SLURM_NODE_TAG]: 'w0-0' }),
      node('i-b', { [SLURM_NODE_TAG]: 'w0-1' }),
      node('i-c', { [SLURM_NODE_TAG]: 'w0-2' }),
    );
    const { context: c } = context(cloud);
    const result = await runPowerAction('suspend', 'w0-[0-1]', c);
    expect(cloud.terminated.sort()).toEqual(['i-a', 'i-b']);
    expect(result).toEqual({ action: 'suspend', done: ['w0-0', 'w0-1'], failed: [] });
  });

  it('resume starts one tagged node per name of its group, and a node that cannot be set up is terminated and set down with the reason', async () => {
    const cloud = new FakeProvisioner();
    const { context: c, slurm, host } = context(cloud);
    const result = await runPowerAction('resume', 'w1-0', c);
    expect(cloud.added).toEqual([
      {
        type: { instanceTypes: ['t2.small'], spotBid: 0.2 },
        count: 1,
        options: expect.objectContaining({
          bootstrap: 'host-keys',
          tags: { [SLURM_NODE_TAG]: 'w1-0' },
          sshPublicKey: 'ssh-ed25519 AAAA leader',
          sshUid: 1001,
          storageGb: 20,
        }),
      },
    ]);
    expect(slurm).toContainEqual(['scontrol', 'update', 'NodeName=w1-0', 'NodeAddr=10.0.0.9']);
    expect(result.done).toEqual([]);
    expect(result.failed).toEqual([{ name: 'w1-0', reason: expect.stringContaining('phase ssh') }]);
    expect(cloud.terminated).toEqual(['i-1']);
    const down = slurm.find((argv) => argv.includes('State=DOWN'))!;
    expect(down.slice(0, 4)).toEqual(['scontrol', 'update', 'NodeName=w1-0', 'State=DOWN']);
    expect(down[4]).toMatch(/^Reason=toil-ts could not start it: /);
    expect(host.events.some((e) => e.code === 'AUTOSCALE_RESUME_FAILED')).toBe(true);
  });

  it('resume refuses a name outside the elastic groups and starts nothing for it', async () => {
    const cloud = new FakeProvisioner();
    const { context: c, slurm } = context(cloud);
    const result = await runPowerAction('resume', 'w0-7', c);
    expect(cloud.added).toEqual([]);
    expect(result.failed).toEqual([
      { name: 'w0-7', reason: 'not a node of an elastic group of this cluster' },
    ]);
    expect(slurm.some((argv) => argv.includes('State=DOWN'))).toBe(false);
  });

  it('a cloud failure while starting terminates nothing of other names and sets the node down', async () => {
    const cloud = new FakeProvisioner();
    cloud.failAdd = 'InsufficientInstanceCapacity';
    cloud.nodes.push(node('i-other', { [SLURM_NODE_TAG]: 'w0-2' }));
    const { context: c, slurm } = context(cloud);
    const result = await runPowerAction('resume', 'w0-0', c);
    expect(result.failed).toEqual([{ name: 'w0-0', reason: 'InsufficientInstanceCapacity' }]);
    expect(cloud.terminated).toEqual([]);
    expect(slurm.find((argv) => argv.includes('State=DOWN'))?.[2]).toBe('NodeName=w0-0');
  });

  it('returns down nodes whose instance is gone to the pool, but not ones with an instance or that could not start', async () => {
    const cloud = new FakeProvisioner();
    cloud.nodes.push(
      node('i-a', { [SLURM_NODE_TAG]: 'w0-1' }),
      node('i-b', { [SLURM_NODE_TAG]: 'w0-0' }),
    );
    const down =
      'w0-0|2026-11-30T12:00:00|Not responding\nw0-1|2026-11-30T12:00:00|Not responding\nw0-2|2026-11-30T12:00:00|Not responding\nw1-0|2026-11-30T12:00:00|toil-ts could not start it: x\n';
    const { context: c, slurm } = context(cloud, down);
    await runPowerAction('suspend', 'w1-0', c);
    const reclaimed = slurm.filter((argv) => argv.includes('State=POWER_DOWN_FORCE'));
    expect(reclaimed.map((argv) => argv[2])).toEqual(['NodeName=w0-2']);
  });
});

describe('the node ledger the power-saving programs keep', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'toil-power-ledger-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("records a started node with its type and the cloud's spot price at its start, and its stop when it could not be set up", async () => {
    const cloud = new PricedProvisioner();
    const ledger = join(dir, 'nodes.jsonl');
    const { context: c } = context(cloud, '', ledger);
    await runPowerAction('resume', 'w1-0', c);
    expect(cloud.asked).toEqual([{ nodeType: 't2.medium', spot: false, at: expect.any(Number) }]);
    const entries = readLedger(ledger)!;
    expect(entries).toEqual([
      {
        v: 1,
        event: 'start',
        node: 'w1-0',
        instance: 'i-1',
        type: 't2.medium',
        spot: false,
        time: expect.any(Number),
        noPrice: 'the Price List API: 404',
      },
      {
        v: 1,
        event: 'stop',
        node: 'w1-0',
        instance: 'i-1',
        time: expect.any(Number),
        why: 'failed-start',
      },
    ]);
    expect(readFileSync(ledger, 'utf8')).not.toMatch(/key|secret|token/i);
  });

  it('records the stops of suspended nodes, and of nodes the cloud took back at the time Slurm marked them down', async () => {
    const cloud = new PricedProvisioner();
    const spot = (id: string, name: string): ClusterNode => ({
      ...node(id, { [SLURM_NODE_TAG]: name }),
      preemptible: true,
      zone: 'us-west-2a',
      launchTime: Math.round(new Date('2026-11-30T11:00:00').getTime() / 1000),
    });
    cloud.nodes.push(spot('i-a', 'w0-0'), spot('i-b', 'w0-1'));
    const ledger = join(dir, 'nodes.jsonl');
    // Both started earlier (as resume records them); w0-1's instance is then taken back.
    const t0 = Math.round(new Date('2026-11-30T11:00:00').getTime() / 1000);
    writeFileSync(
      ledger,
      ['i-a', 'i-b']
        .map((id, i) =>
          JSON.stringify({
            v: 1,
            event: 'start',
            node: `w0-${i}`,
            instance: id,
            type: 't2.medium',
            spot: true,
            time: t0,
            usdPerHour: 0.0139,
          }),
        )
        .join('\n') + '\n',
    );
    cloud.nodes.find((n) => n.id === 'i-b')!.state = 'terminated';
    const { context: c } = context(cloud, 'w0-1|2026-11-30T11:30:00|Not responding\n', ledger);
    await runPowerAction('suspend', 'w0-0', c);
    const stops = readLedger(ledger)!.filter((e) => e.event === 'stop');
    expect(stops).toEqual([
      {
        v: 1,
        event: 'stop',
        node: 'w0-0',
        instance: 'i-a',
        time: expect.any(Number),
        why: 'suspend',
      },
      { v: 1, event: 'stop', node: 'w0-1', instance: 'i-b', time: t0 + 1800, why: 'lost' },
    ]);
  });
});

describe('the autoscaling settings', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'toil-autoscale-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps Slurm node names to their group and number, within the group maximum', () => {
    expect(elasticNodeOf(config, 'w0-2')).toMatchObject({ groupIndex: 0, index: 2 });
    expect(elasticNodeOf(config, 'w1-0')).toMatchObject({ groupIndex: 1, index: 0 });
    expect(elasticNodeOf(config, 'w0-3')).toBeUndefined();
    expect(elasticNodeOf(config, 'w0-x')).toBeUndefined();
    expect(elasticNodeOf(config, 'ip-10-0-0-5')).toBeUndefined();
  });

  it('are read from the leader, and their absence is a clear error', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    expect(readAutoscaleConfig(join(dir, 'config.json'))).toEqual(config);
    const missing = thrownToilError(() => readAutoscaleConfig(join(dir, 'nothing.json')));
    expect(missing.code).toBe('CLUSTER_STATE_INVALID');
    expect(missing.message).toContain('not the leader of a cluster with elastic node groups');
    const error = await leaderPowerContext({
      host: new RecordingHost(),
      dir,
      loadProvisioner: async () => new FakeProvisioner() as unknown as Provisioner,
      connectorFor: async () => async () => {
        throw new Error('unused');
      },
      toilPackage: { kind: 'registry', version: '1.0.0' },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(join(dir, 'id_ed25519.pub'));
  });
});
