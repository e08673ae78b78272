import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyPairCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { runToil } from '../../../tooling/test-env/cli.js';
import { useMotoStoreEnv } from '../../../tooling/test-env/moto.js';

const moto = useMotoStoreEnv('the cluster command tests (EC2 and IAM on moto)');
let home: string;
let env: Record<string, string>;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'toil-cluster-cli-'));
  mkdirSync(join(home, '.ssh'));
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-f',
    join(home, '.ssh', 'id_ed25519'),
  ]);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const launchArgs = (name: string, leader = 't3.medium', zone = 'us-west-2a') => [
  'launch-cluster',
  name,
  '--leaderNodeType',
  leader,
  '--keyPairName',
  'cli-key',
  '--zone',
  zone,
];

describe('cluster commands: bad input is one line before any cloud call', () => {
  it.each([
    [['Bad_Name'], "The cluster name must be lowercase and cannot contain the '_' character."],
    [
      ['c1', '--nodeTypes', 't3.small'],
      'The --nodeTypes option requires --workers, and vice versa.',
    ],
    [['c1', '--nodeTypes', 't3.small:cheap', '-w', '1'], 'the spot bid "cheap" is not a number'],
    [['c1', '--nodeTypes', 't3.small,t3.large', '-w', '1'], 'must be the same length'],
    [['c1', '-t', 'novalue'], "Tag specification 'novalue' must contain '='."],
    [['c1', 'ZONE:'], 'Please provide a value for --zone or set a default in the TOIL_AWS_ZONE'],
  ])('launch-cluster %j', async (extra, message) => {
    const [name, ...rest] = extra;
    const noZone = rest[0] === 'ZONE:';
    const args = [
      ...launchArgs(name!, 't3.medium', noZone ? '' : 'us-west-2a'),
      ...(noZone ? [] : rest),
    ];
    const result = await runToil(args, {
      env: { HOME: home, TOIL_AWS_ZONE: '', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' },
    });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toContain(message);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^ {2}hint: /);
  });
});

moto.describe('cluster commands on moto', () => {
  beforeAll(async () => {
    const ec2 = new EC2Client({ region: 'us-west-2' });
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'cli-key' }));
    const images = await ec2.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['*ubuntu*'] }] }),
    );
    env = {
      ...(moto.server().env as Record<string, string>),
      HOME: home,
      TOIL_AWS_AMI: images.Images![0]!.ImageId!,
    };
  });

  it('launches (cloud resources only), lists as text and JSON, destroys, and destroys again', async () => {
    const name = `cli-${process.pid}`;
    const dry = await runToil(
      [...launchArgs(name), '--nodeTypes', 't3.small:0.05', '-w', '2', '--dry-run'],
      { env },
    );
    expect(dry.stderr).not.toContain('error');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`Dry run: launching cluster ${name} would create:`);
    expect(dry.stdout).toContain('spot at $0.05/h');

    const launched = await runToil(
      [
        ...launchArgs(name),
        '--nodeTypes',
        't3.small:0.05',
        '-w',
        '2',
        '-t',
        'team=x',
        '--bootstrap',
        'none',
        '--json',
      ],
      { env },
    );
    expect(launched.stderr).toContain(`Leader i-`);
    expect(launched.code).toBe(0);
    const result = JSON.parse(launched.stdout) as {
      leader: { id: string; tags: Record<string, string> };
      workers: unknown[];
    };
    expect(result.leader.tags).toMatchObject({
      team: 'x',
      Owner: 'cli-key',
      clusterName: name,
      ToilNodeType: 'leader',
    });
    expect(result.workers).toHaveLength(2);

    const text = await runToil(['list-clusters', '--zone', 'us-west-2a'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^NAME +ZONE +LEADER +NODES +OWNER +AGE$/m);
    expect(text.stdout).toMatch(
      new RegExp(
        `^${name} +us-west-2a +\\S+ \\(running\\) +1 t3.medium running, 2 t3.small running +cli-key +\\d+s$`,
        'm',
      ),
    );
    const json = await runToil(['list-clusters', '--zone', 'us-west-2a', '--json'], { env });
    const listed = JSON.parse(json.stdout) as {
      clusters: Array<{ name: string; nodeCount: number; leader: { id: string } }>;
    };
    expect(listed.clusters.find((c) => c.name === name)).toMatchObject({
      nodeCount: 3,
      leader: { id: result.leader.id },
    });

    const plan = await runToil(['destroy-cluster', name, '--zone', 'us-west-2a', '--dry-run'], {
      env,
    });
    expect(plan.stdout).toContain(`Dry run: destroying cluster ${name} would delete:`);
    const destroyed = await runToil(['destroy-cluster', name, '--zone', 'us-west-2a'], { env });
    expect(destroyed.code).toBe(0);
    expect(destroyed.stdout).toContain(`Cluster ${name} is now gone.`);
    expect(destroyed.stdout).toMatch(
      /\nIt ran \d+\.\d\d node-hours over 3 instances \(.+\), counting every instance the cloud still listed or the leader recorded\.\nCost: \$0\.0\d+ at the cloud's prices \(t3\.small spot \d+\.\d\d h at \$0\.00001\/h\); no price for t3\.medium from the cloud's API \(the Price List API: the endpoint answered HTTP \d+, not the API's answer\)\.\n$/,
    );
    const again = await runToil(['destroy-cluster', name, '--zone', 'us-west-2a'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `No cluster named ${name} was found in us-west-2a; nothing to destroy.\n`,
    );
    const empty = await runToil(['list-clusters', '--zone', 'us-west-2a'], { env });
    expect(empty.stdout).toBe('No clusters in us-west-2a.\n');
  }, 300_000);

  it('refuses an unknown instance type with the closest name, creating nothing', async () => {
    const result = await runToil(launchArgs('typo', 't3.mediun'), { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'Invalid instance type (t3.mediun) specified for AWS in region: us-west-2. Did you mean t3.medium?',
    );
  });

  it('says that credentials are missing in one line', async () => {
    const result = await runToil(['list-clusters', '--zone', 'us-west-2a'], {
      env: {
        ...env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: 'nobody-here',
        AWS_CONFIG_FILE: join(home, 'none'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
      },
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(
      /^toil: error: No valid AWS credentials for Describe(Instances|SecurityGroups): Could not load credentials from any providers$/,
    );
    expect(lines).toHaveLength(2);
  });
});
