import { autoscaleConfigFor, slurmCloudSettings } from '@toil/provisioner';

const spec = {
  clusterName: 'c1',
  nodeStorageGb: 40,
  phaseTimeoutSeconds: 600,
  nodeIdleSeconds: 120,
};
const sizes: Record<string, { cpus: number; memoryMb: number }> = {
  't2.medium': { cpus: 2, memoryMb: 4096 },
  't3.large': { cpus: 2, memoryMb: 8192 },
  'c5.large': { cpus: 2, memoryMb: 4096 },
};
const cloud = {
  provisioner: 'aws',
  zone: 'us-west-2a',
  sizeOf: (name: string) => sizes[name] ?? { cpus: 1, memoryMb: 1024 },
};

describe("the leader's autoscaling settings every provisioner writes", () => {
  it('are absent for a cluster without elastic groups', () => {
    expect(autoscaleConfigFor({ ...spec, elastic: [] }, cloud)).toBeUndefined();
  });

  it("size each group by its smallest type, leave the system 10 % of the memory, and keep the spec's timings", () => {
    const config = autoscaleConfigFor(
      {
        ...spec,
        elastic: [
          { instanceTypes: ['t3.large', 'c5.large'], min: 0, max: 3 },
          { instanceTypes: ['t2.medium'], spotBid: 0.05, min: 1, max: 2 },
        ],
      },
      cloud,
    );
    expect(config).toEqual({
      version: 1,
      clusterName: 'c1',
      provisioner: 'aws',
      zone: 'us-west-2a',
      nodeStorageGb: 40,
      phaseTimeoutSeconds: 600,
      idleSeconds: 120,
      groups: [
        {
          prefix: 'w0-',
          instanceTypes: ['t3.large', 'c5.large'],
          min: 0,
          max: 3,
          cpus: 2,
          memoryMb: 3686,
        },
        {
          prefix: 'w1-',
          instanceTypes: ['t2.medium'],
          spotBid: 0.05,
          min: 1,
          max: 2,
          cpus: 2,
          memoryMb: 3686,
        },
      ],
    });
    // What Slurm is told follows from them: one node line per group, spot groups marked.
    const cloudConf = slurmCloudSettings(config!);
    expect(cloudConf.groups.map((g) => [g.prefix, g.count, g.alwaysOn, g.features])).toEqual([
      ['w0-', 3, 0, ['t3.large', 'c5.large', 'group0']],
      ['w1-', 2, 1, ['t2.medium', 'group1', 'spot']],
    ]);
    expect(cloudConf.power.suspendTime).toBe(120);
  });

  it('size a type the cloud does not describe by what sizeOf says of it', () => {
    const config = autoscaleConfigFor(
      { ...spec, elastic: [{ instanceTypes: ['x9.huge'], min: 0, max: 1 }] },
      { ...cloud, provisioner: 'gce', zone: 'us-central1-a' },
    );
    expect(config?.provisioner).toBe('gce');
    expect(config?.zone).toBe('us-central1-a');
    expect(config?.groups[0]).toMatchObject({ cpus: 1, memoryMb: 921 });
  });
});
