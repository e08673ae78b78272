import { parseSinfoNodes, slurmNodeActivity } from '@toil/batch-slurm';

describe("sinfo's node view", () => {
  it('gives elastic cloud nodes their instance type, group and state', () => {
    const nodes = parseSinfoNodes(
      [
        'w0-0|2|3686|0/2/0/2|N/A|0|t2.medium,group0|idle~',
        'w0-1|2|3686|2/0/0/2|3000|0|t2.medium,group0|mix',
        'w1-0|2|7372|0/2/0/2|N/A|0|t3.large,group1,spot|idle#',
        'ip-10-0-0-5|2|3800|0/2/0/2|3500|0|(null)|idle',
      ].join('\n'),
    );
    expect(nodes.map((n) => [n.id, n.type, n.group, n.state, n.busy])).toEqual([
      ['w0-0', 't2.medium', 'group0', 'powered-down', false],
      ['w0-1', 't2.medium', 'group0', 'busy', true],
      ['w1-0', 't3.large', 'group1', 'booting', false],
      ['ip-10-0-0-5', undefined, undefined, 'idle', false],
    ]);
    expect(nodes[0]).toMatchObject({ cores: 2, memory: 3686 * 2 ** 20 });
  });

  it.each([
    ['idle', 'idle'],
    ['mix', 'busy'],
    ['alloc', 'busy'],
    ['drng', 'draining'],
    ['drain', 'draining'],
    ['down*', 'down'],
    ['idle*', 'down'],
    ['idle~', 'powered-down'],
    ['idle#', 'booting'],
    ['alloc#', 'booting'],
    ['idle%', 'powering-down'],
    ['down~', 'down'],
  ])('reads the compact state %s as %s', (compact, activity) => {
    expect(slurmNodeActivity(compact)).toBe(activity);
  });
});
