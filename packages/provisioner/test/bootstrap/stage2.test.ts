import { RecordingHost, ToilError } from '@toil/core';
import { nodeConnector } from '@toil/cluster-ssh';
import { renderSlurmConf, runStage2, type ClusterNode } from '@toil/provisioner';
import { describeWithSshd, startSshd, type TestSshd } from '../../../../tooling/test-env/sshd.js';

describe('renderSlurmConf', () => {
  it('makes the leader the controller and each worker a node with its address, CPUs and memory', () => {
    const conf = renderSlurmConf({
      clusterName: 'my-cluster',
      controller: { hostname: 'ip-10-0-0-4', address: '10.0.0.4' },
      nodes: [
        { hostname: 'ip-10-0-0-5', address: '10.0.0.5', cpus: 2, memoryMb: 3800.7 },
        { hostname: 'ip-10-0-0-6', address: '10.0.0.6', cpus: 8, memoryMb: 30000 },
      ],
    });
    const lines = conf.split('\n');
    expect(lines).toContain('ClusterName=mycluster');
    expect(lines).toContain('SlurmctldHost=ip-10-0-0-4(10.0.0.4)');
    expect(lines).toContain('AuthType=auth/munge');
    expect(lines.filter((l) => l.startsWith('NodeName='))).toEqual([
      'NodeName=ip-10-0-0-5 NodeAddr=10.0.0.5 CPUs=2 RealMemory=3800 State=UNKNOWN',
      'NodeName=ip-10-0-0-6 NodeAddr=10.0.0.6 CPUs=8 RealMemory=30000 State=UNKNOWN',
    ]);
    expect(lines).toContain('PartitionName=work Nodes=ALL Default=YES MaxTime=INFINITE State=UP');
  });

  it('has no partition without workers, and refuses a host name or address that could break a line', () => {
    const leaderOnly = renderSlurmConf({
      clusterName: 'c',
      controller: { hostname: 'leader', address: '10.0.0.4' },
      nodes: [],
    });
    expect(leaderOnly).not.toContain('PartitionName=');
    expect(() =>
      renderSlurmConf({
        clusterName: 'c',
        controller: { hostname: 'x\nSlurmUser=root', address: '10.0.0.4' },
        nodes: [],
      }),
    ).toThrow('bad host name');
    expect(() =>
      renderSlurmConf({
        clusterName: 'c',
        controller: { hostname: 'leader', address: '10.0.0.4 Weight=1' },
        nodes: [],
      }),
    ).toThrow('bad address');
  });
});

describe('renderSlurmConf with elastic node groups', () => {
  const power = {
    resumeProgram: '/usr/local/lib/toil-ts/slurm-resume',
    suspendProgram: '/usr/local/lib/toil-ts/slurm-suspend',
    resumeFailProgram: '/usr/local/lib/toil-ts/slurm-resume-fail',
    suspendTime: 45,
    resumeTimeout: 600,
    suspendTimeout: 120,
  };

  it('declares each group as cloud nodes with their type as a feature, and power saving', () => {
    const conf = renderSlurmConf({
      clusterName: 'c',
      controller: { hostname: 'leader', address: '10.0.0.4' },
      nodes: [],
      cloud: {
        power,
        groups: [
          {
            prefix: 'w0-',
            count: 3,
            alwaysOn: 0,
            cpus: 2,
            memoryMb: 3686.4,
            features: ['t2.medium', 'group0'],
          },
          {
            prefix: 'w1-',
            count: 1,
            alwaysOn: 1,
            cpus: 1,
            memoryMb: 900,
            features: ['t2.small', 'group1', 'spot'],
          },
        ],
      },
    });
    const lines = conf.split('\n');
    expect(lines.filter((l) => l.startsWith('NodeName='))).toEqual([
      'NodeName=w0-[0-2] CPUs=2 RealMemory=3686 Features=t2.medium,group0 State=CLOUD',
      'NodeName=w1-0 CPUs=1 RealMemory=900 Features=t2.small,group1,spot State=CLOUD',
    ]);
    expect(lines).toEqual(
      expect.arrayContaining([
        'ResumeProgram=/usr/local/lib/toil-ts/slurm-resume',
        'SuspendProgram=/usr/local/lib/toil-ts/slurm-suspend',
        'ResumeFailProgram=/usr/local/lib/toil-ts/slurm-resume-fail',
        'SuspendTime=45',
        'ResumeTimeout=600',
        'SuspendExcNodes=w1-0',
        'PrivateData=cloud',
        'JobRequeue=0',
        'PartitionName=work Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      ]),
    );
  });

  it('refuses a prefix, feature or program that could break out of its field', () => {
    const render =
      (group: object, program = power.resumeProgram) =>
      () =>
        renderSlurmConf({
          clusterName: 'c',
          controller: { hostname: 'leader', address: '10.0.0.4' },
          nodes: [],
          cloud: {
            power: { ...power, resumeProgram: program },
            groups: [
              {
                prefix: 'w0-',
                count: 1,
                alwaysOn: 0,
                cpus: 1,
                memoryMb: 1,
                features: ['t'],
                ...group,
              },
            ],
          },
        });
    expect(render({ prefix: 'w[0' })).toThrow('bad node name prefix');
    expect(render({ features: ['t2 State=UP'] })).toThrow('bad feature');
    expect(render({}, '/bin/sh -c x')).toThrow('bad program path');
    expect(render({ alwaysOn: 2 })).toThrow('bad node count');
  });
});

describeWithSshd('bootstrap stage 2 against a real sshd', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const leader = (hostKeys = sshd.hostKeys): ClusterNode => ({
    id: 'i-leader',
    name: 'c-leader',
    clusterName: 'c',
    role: 'leader',
    nodeType: 't3.medium',
    preemptible: false,
    state: 'running',
    privateAddress: '127.0.0.1',
    sshUser: sshd.username,
    hostKeys,
    launchTime: 0,
    tags: {},
  });
  const run = (
    host: RecordingHost,
    node: ClusterNode,
    phaseTimeoutMs = 60_000,
  ): Promise<ToilError> =>
    runStage2(
      { clusterName: 'c', leader: node, workers: [] },
      {
        host,
        connect: nodeConnector({ privateKeyPath: sshd.clientKeyPath, port: sshd.port }),
        toilPackage: { kind: 'registry', version: '0.1.0' },
        phaseTimeoutMs,
      },
    ).then(
      () => {
        throw new Error('stage 2 succeeded');
      },
      (error: unknown) => error as ToilError,
    );

  it('fails in the phase that failed, naming the node and showing the script’s stderr (a login user without sudo)', async () => {
    const host = new RecordingHost();
    const error = await run(host, leader());
    expect(ToilError.is(error) && error.code).toBe('BOOTSTRAP_FAILED');
    expect(error.message).toMatch(
      /^Bootstrap stage 2 failed on leader i-leader \(127\.0\.0\.1\) in phase packages: sudo: .*password/,
    );
    expect(error.data).toMatchObject({ phase: 'packages', nodeId: 'i-leader' });
    const stderr = host.withCode('CLUSTER_BOOTSTRAP_STDERR');
    expect(stderr).toHaveLength(1);
    expect(stderr[0]!.message).toContain('phase packages, last lines of stderr:\nsudo:');
    // The phases before it ran: the span reported them in order.
    const phases = host
      .withCode('CLUSTER_BOOTSTRAP')
      .map((e) => (e.data as { phase?: string } | undefined)?.phase)
      .filter(Boolean);
    expect(phases).toEqual(['bundle', 'ssh', 'probe', 'packages']);
  });

  it('refuses a node whose host key is not the one pinned at launch, in phase ssh', async () => {
    const error = await run(
      new RecordingHost(),
      leader([{ algorithm: 'ssh-ed25519', sha256: 'SHA256:' + 'A'.repeat(43) }]),
    );
    expect(ToilError.is(error) && error.code).toBe('BOOTSTRAP_FAILED');
    expect(error.message).toContain('in phase ssh: Refusing to connect');
    expect(ToilError.is(error.cause) && error.cause.code).toBe('SSH_HOST_KEY_MISMATCH');
  });

  it('names the phase and its time limit when a phase runs out of time', async () => {
    const error = await run(new RecordingHost(), leader(), 1);
    expect(ToilError.is(error) && error.code).toBe('BOOTSTRAP_FAILED');
    // Whichever gives up first, stage 2's own limit or the wait for SSH under it.
    expect(error.message).toMatch(/in phase ssh: (timed out after 0\.001 s$|Timed out after 0s)/);
  });
});
