import { checkRunScaling, type AutoscaleConfig } from '@toil/provisioner';
import { thrownToilError } from '../../../../tooling/test-env/errors.js';

const config: AutoscaleConfig = {
  version: 1,
  clusterName: 'c1',
  provisioner: 'aws',
  zone: 'us-west-2a',
  nodeStorageGb: 50,
  phaseTimeoutSeconds: 600,
  idleSeconds: 300,
  groups: [
    { prefix: 'w0-', instanceTypes: ['t2.medium'], min: 0, max: 3, cpus: 2, memoryMb: 3686 },
    {
      prefix: 'w1-',
      instanceTypes: ['t3.large'],
      spotBid: 0.1,
      min: 0,
      max: 2,
      cpus: 2,
      memoryMb: 7372,
    },
  ],
};

describe("a run's Toil autoscaling options against the cluster's node groups", () => {
  it("accepts the cluster's own groups and counts, as a Toil user writes them", () => {
    expect(
      checkRunScaling(
        {
          provisioner: 'aws',
          nodeTypes: 't2.medium,t3.large:0.2',
          maxNodes: '3,2',
          minNodes: '0',
          nodeStorage: '50',
        },
        config,
      ),
    ).toEqual([]);
    expect(checkRunScaling({ provisioner: 'aws' }, config)).toEqual([]);
  });

  it('warns where the cluster decides: a smaller --maxNodes, another --minNodes, --targetTime', () => {
    const warnings = checkRunScaling(
      {
        provisioner: 'aws',
        nodeTypes: 't2.medium',
        maxNodes: '2',
        minNodes: '1',
        targetTime: '1800',
      },
      config,
    );
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain("the cluster's group may grow to 3");
    expect(warnings[1]).toContain('the cluster keeps 0 node(s)');
    expect(warnings[2]).toContain('--targetTime 1800');
  });

  it.each([
    [{ provisioner: 'gce' }, '--provisioner gce does not match this cluster, which runs on aws.'],
    [
      { provisioner: 'aws', nodeTypes: 'm5.large' },
      '--nodeTypes m5.large is not a node group of this cluster.',
    ],
    [
      { provisioner: 'aws', nodeTypes: 't3.large' },
      '--nodeTypes t3.large is not a node group of this cluster.',
    ],
    [
      { provisioner: 'aws', nodeTypes: 't2.medium', maxNodes: '5' },
      "--maxNodes 5 for t2.medium is more than this cluster's group grows to (3).",
    ],
    [
      { provisioner: 'aws', nodeTypes: 't2.medium', minNodes: '4' },
      "--minNodes 4 for t2.medium is more than this cluster's group grows to (3).",
    ],
    [
      { provisioner: 'aws', nodeStorage: '80' },
      "--nodeStorage 80 does not match this cluster's nodes, which have 50 GB.",
    ],
  ])('refuses %j in one line naming the groups', (options, message) => {
    const error = thrownToilError(() => checkRunScaling(options, config));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(message);
    expect(error.hint).toContain('t2.medium 0-3, t3.large:0.1 0-2');
  });

  it('refuses counts that are not one whole number per node type', () => {
    expect(
      thrownToilError(() => checkRunScaling({ provisioner: 'aws', maxNodes: 'two' }, config))
        .message,
    ).toBe('--maxNodes two is not a list of whole numbers.');
    expect(
      thrownToilError(() =>
        checkRunScaling({ provisioner: 'aws', nodeTypes: 't2.medium', maxNodes: '1,2' }, config),
      ).message,
    ).toBe('--maxNodes has 2 values for 1 node type(s).');
  });
});
