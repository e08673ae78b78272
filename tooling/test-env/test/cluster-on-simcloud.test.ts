import { EC2Client, GetConsoleOutputCommand } from '@aws-sdk/client-ec2';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runToil } from '../cli.js';
import {
  awsLaunchArgs,
  leftAfterDestroy,
  prepareAwsLauncher,
  strictSsh,
  useSimCloud,
  writeKnownHosts,
} from '../simcloud/index.js';

const sim = useSimCloud('launch-cluster and destroy-cluster on the simulated cloud');
const REGION = 'us-west-2';

sim.describe('the toil CLI on the simulated cloud', () => {
  let home: string;
  let key: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ home, key, env } = await prepareAwsLauncher(REGION, 'simcloud-key'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('launch-cluster (leader + 2 workers, stage 1 only) gives three nodes that take ssh with their console host keys as the stage-1 user; destroy-cluster leaves nothing in moto and no node on the machine', async () => {
    const cloud = sim.cloud();
    const subnet = await sim.aws().subnet(REGION);
    const name = `sim-${process.pid}`;
    const launched = await runToil(
      awsLaunchArgs(name, {
        workers: '2',
        keyPairName: 'simcloud-key',
        sshKey: key,
        subnet,
        more: ['--bootstrap', 'none'],
      }),
      { env },
    );
    expect(launched.stderr).not.toMatch(/error/i);
    expect(launched.code).toBe(0);
    await cloud.waitFor('three nodes', () => cloud.nodes().length === 3);

    const ec2 = new EC2Client({ region: REGION });
    for (const node of cloud.nodes()) {
      expect(cloud.inSubnet(node.address)).toBe(true);
      const consoleText = Buffer.from(
        (await ec2.send(new GetConsoleOutputCommand({ InstanceId: node.instanceId }))).Output!,
        'base64',
      ).toString('utf8');
      for (const hostKey of node.hostKeys)
        expect(consoleText).toContain(`toil-ts-host-key: 256 ${hostKey.fingerprint} `);
      const knownHosts = join(home, `known_hosts-${node.instanceId}`);
      writeKnownHosts(
        knownHosts,
        node.address,
        node.hostKeys.map((k) => k.publicKey),
      );
      const session = await strictSsh(
        key,
        knownHosts,
        `${node.users[0]}@${node.address}`,
        'cat /etc/toil-ts/cluster; hostname',
      );
      expect([session.code, session.stdout]).toEqual([0, `${name}\n${node.hostname}\n`]);
    }

    const destroyed = await runToil(['destroy-cluster', name, '--zone', subnet.zone], { env });
    expect(destroyed.code).toBe(0);
    ec2.destroy();
    expect(await leftAfterDestroy(cloud, REGION)).toEqual({ instances: [], namespaces: [] });
  });
});
