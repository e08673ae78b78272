import { randomBytes } from 'node:crypto';
import { renderSlurmConf } from '@toil/provisioner';
import { describeWithSimCloud, startSimCloud, type SimCloud } from '../simcloud/index.js';

const SETUP = [
  'set -e',
  'mkdir -p /etc/slurm /etc/munge /run/munge /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm',
  'read -r conf64; read -r key64',
  'printf %s "$conf64" | base64 -d > /etc/slurm/slurm.conf',
  'printf %s "$key64" | base64 -d > /etc/munge/munge.key',
  'chown munge:munge /etc/munge /etc/munge/munge.key /run/munge; chmod 0400 /etc/munge/munge.key',
  'chown slurm:slurm /var/lib/slurm/slurmctld /var/log/slurm',
  'runuser -u munge -- /usr/sbin/munged',
].join('\n');

describeWithSimCloud('Slurm across simulated nodes', 'Slurm on simulated nodes', () => {
  let cloud: SimCloud;
  afterAll(async () => {
    await cloud?.stop();
  });

  it('runs a controller on one node and a slurmd on each of two others, each under its own host name and address, and places jobs on the workers', async () => {
    cloud = await startSimCloud();
    const ids = ['leader', 'w1', 'w2'];
    const addresses = ids.map(() => cloud.allocateAddress());
    await cloud.addSource({
      name: 'fake',
      list: async () =>
        ids.map((id, i) => ({ id, live: true, privateAddress: addresses[i]!, userData: '' })),
    });
    const [leader, w1, w2] = ids.map((id) => cloud.node(id)!);
    // The slurm.conf bootstrap stage 2 writes, with one CPU per worker.
    const conf = renderSlurmConf({
      clusterName: 'simcloud',
      controller: { hostname: leader!.hostname, address: leader!.address },
      nodes: [w1!, w2!].map((w) => ({
        hostname: w.hostname,
        address: w.address,
        cpus: 1,
        memoryMb: 2000,
      })),
    });
    const input = `${Buffer.from(conf).toString('base64')}\n${randomBytes(1024).toString('base64')}\n`;
    for (const id of ids) {
      const setup = await cloud.exec(id, ['bash', '-c', SETUP], { input });
      expect(setup).toMatchObject({ code: 0 });
    }
    expect(await cloud.exec('leader', ['/usr/sbin/slurmctld', '-i'])).toMatchObject({ code: 0 });
    for (const id of ['w1', 'w2'])
      expect(await cloud.exec(id, ['/usr/sbin/slurmd'])).toMatchObject({ code: 0 });

    // Both workers registered and idle before the jobs go in, so each gets one.
    const idle = await cloud.exec('leader', [
      'bash',
      '-c',
      'for i in $(seq 600); do [ "$(sinfo -h -t idle -o %D)" = 2 ] && exit 0; sleep 0.1; done; sinfo; exit 1',
    ]);
    expect(idle).toMatchObject({ code: 0 });
    // Each job prints where it ran; --wait returns when it is done; two at once need both nodes.
    const submit = (n: number) =>
      cloud.exec('leader', [
        'sbatch',
        '--wait',
        '-Q',
        '-c',
        '1',
        `--output=/tmp/job-${n}.out`,
        '--wrap',
        'echo "$(hostname) $(ip -4 -o addr show eth0 | tr -s " " | cut -d" " -f4)"; sleep 1',
      ]);
    const results = await Promise.all([submit(1), submit(2)]);
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    const ran = [];
    for (const id of ['w1', 'w2']) {
      const out = await cloud.exec(id, ['bash', '-c', 'cat /tmp/job-*.out 2>/dev/null || true']);
      ran.push(out.stdout.trim());
    }
    expect(ran).toEqual([`${w1!.hostname} ${w1!.address}/24`, `${w2!.hostname} ${w2!.address}/24`]);
    const sinfo = await cloud.exec('leader', ['sinfo', '-h', '-N', '-o', '%N']);
    expect(sinfo.stdout.trim().split('\n').sort()).toEqual([w1!.hostname, w2!.hostname].sort());
  });
});
