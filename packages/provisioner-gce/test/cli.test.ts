import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { startGceFake, type GceFake } from '../../../tooling/test-env/gce-fake.js';

// The built CLI, as a user runs it: --provisioner gce, credentials from
// GOOGLE_APPLICATION_CREDENTIALS, the API at TOIL_GCE_ENDPOINT (the Compute Engine fake).
// The fake plays cloud-init's console but its nodes take no SSH, so launches here stop after
// stage 1 (--bootstrap none); stage 2 runs on the simulated cloud (seed-on-simcloud.test.ts).

let fake: GceFake;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  fake = await startGceFake();
  dir = mkdtempSync(join(tmpdir(), 'provisioner-gce-cli-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  env = {
    ...process.env,
    ...fake.writeCredentials(dir),
    TOIL_GCE_ENDPOINT: fake.endpoint,
    GOOGLE_CLOUD_PROJECT: fake.project,
    TOIL_GCE_ZONE: 'us-central1-b',
  };
});

afterAll(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('toil launch-cluster / list-clusters / destroy-cluster --provisioner gce', () => {
  it('launches with workers, lists, destroys, and destroys again', async () => {
    const launch = await runToil(
      [
        'launch-cluster',
        'cli1',
        '--bootstrap',
        'none',
        '--provisioner',
        'gce',
        '--leaderNodeType',
        'e2-medium',
        '--keyPairName',
        'bob',
        '--sshKey',
        join(dir, 'key'),
        '--nodeTypes',
        'e2-small:0.01',
        '-w',
        '2',
        '-t',
        'team=Bio',
      ],
      { env },
    );
    expect(launch.stderr).not.toMatch(/Warning:|AutopaginateTrueWarning/);
    expect(launch.code).toBe(0);
    expect(launch.stdout).toMatch(
      /^Cluster cli1 created: leader \d+ \(e2-medium\) at 10\.[\d.]+ as bob; 2 x e2-small\./m,
    );

    const list = await runToil(['list-clusters', '--provisioner', 'gce', '--json'], { env });
    expect(list.code).toBe(0);
    const { clusters } = JSON.parse(list.stdout) as { clusters: any[] };
    expect(clusters).toEqual([
      expect.objectContaining({
        name: 'cli1',
        provisioner: 'gce',
        zone: 'us-central1-b',
        owner: 'bob',
        nodeCount: 3,
        nodes: { 'e2-medium': { running: 1 }, 'e2-small': { running: 2 } },
      }),
    ]);
    expect(fake.instances().find((i) => i.name === 'cli1-leader')!.labels.team).toBe('bio');

    const destroy = await runToil(['destroy-cluster', '--provisioner', 'gce', 'cli1'], { env });
    expect(destroy.code).toBe(0);
    expect(fake.inventory()).toEqual({ instances: [], disks: [], firewalls: [], networks: [] });
    const again = await runToil(['destroy-cluster', '--provisioner', 'gce', 'cli1'], { env });
    expect(again.code).toBe(0);
  }, 300_000);

  it('takes --project over GOOGLE_CLOUD_PROJECT, and refuses --project for AWS in one line', async () => {
    const elsewhere = { ...env, GOOGLE_CLOUD_PROJECT: 'someone-elses-project' };
    const given = await runToil(
      ['list-clusters', '--provisioner', 'gce', '--project', fake.project, '--json'],
      { env: elsewhere },
    );
    expect([given.code, JSON.parse(given.stdout)]).toEqual([0, { clusters: [] }]);
    const wrong = await runToil(['list-clusters', '--provisioner', 'gce'], { env: elsewhere });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("The resource 'projects/someone-elses-project' was not found");
    const aws = await runToil(['list-clusters', '--provisioner', 'aws', '--project', 'p1'], {
      env,
    });
    expect([aws.code, aws.stderr.split('\n')[0]]).toEqual([
      2,
      'toil: error: --project is for --provisioner gce only.',
    ]);
  }, 120_000);

  it('refuses an AWS instance type in one line, creating nothing', async () => {
    const result = await runToil(
      [
        'launch-cluster',
        'cli2',
        '--provisioner',
        'gce',
        '--leaderNodeType',
        't2.micro',
        '--keyPairName',
        'bob',
        '--sshKey',
        join(dir, 'key'),
      ],
      { env },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "It looks like you've specified an AWS nodeType with the gce provisioner. Please specify a nodeType for gce.",
    );
    expect(fake.inventory().instances).toEqual([]);
  }, 120_000);
});
