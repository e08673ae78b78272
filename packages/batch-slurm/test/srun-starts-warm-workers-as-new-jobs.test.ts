import { srunArgs, srunEnvironment, srunGranted, srunJobId } from '@toil/batch-slurm';

const requirements = { cores: 2, memory: 256 * 2 ** 20, disk: 0, preemptible: false };
const names = {
  jobName: 'toil_wf_warm',
  outputFile: '/logs/w_%j.out',
  errorFile: '/logs/w_%j.err',
};

describe('srun for warm workers', () => {
  it('asks for what sbatch would, one task on one node without stdin, and names the job id', () => {
    const args = srunArgs(
      { jobId: 'warm-c2', name: 'warm', requirements },
      { extraArgs: ['--qos=short', '--partition=other'], partition: 'debug', noMem: false },
      names,
    );
    expect(args).toEqual([
      '--verbose',
      '--input=none',
      '--nodes=1',
      '--ntasks=1',
      '--job-name=toil_wf_warm',
      '--output=/logs/w_%j.out',
      '--error=/logs/w_%j.err',
      '--cpus-per-task=2',
      '--mem=256M',
      '--partition=debug',
      // Extra arguments last, so that they win as they do for sbatch.
      '--qos=short',
      '--partition=other',
    ]);
    expect(args).not.toContain('--parsable');
  });

  it("starts a new job even from inside one: the allocation's SLURM_* variables are left out", () => {
    const env = srunEnvironment(
      {
        PATH: '/usr/bin',
        SLURM_CONF: '/etc/slurm/test.conf',
        SLURM_JOB_ID: '41',
        SLURM_JOBID: '41',
        SLURM_NTASKS: '8',
        SLURM_MEM_PER_CPU: '100',
        NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
      },
      { TOIL_WORKER_MARK: 'x' },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      SLURM_CONF: '/etc/slurm/test.conf',
      NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
      TOIL_WORKER_MARK: 'x',
    });
  });

  it('reads the job id from srun 22.05 messages, granted or queued, and whether it was granted', () => {
    const granted =
      "srun: defined options\nsrun: job-name            : toil_wf_warm\nsrun: end of defined options\nsrun: jobid 18496: nodes(1):`vm', cpu counts: 1(x1)\n";
    expect(srunJobId(granted)).toBe('18496');
    expect(srunGranted(granted)).toBe(true);
    const queued = 'srun: job 18497 queued and waiting for resources\n';
    expect(srunJobId(queued)).toBe('18497');
    expect(srunGranted(queued)).toBe(false);
    expect(srunJobId('srun: job 18497 has been allocated resources\n')).toBe('18497');
    expect(srunGranted(`${queued}srun: job 18497 has been allocated resources\n`)).toBe(true);
    expect(srunGranted('srun: job-name            : job 5 has been allocated\n')).toBe(false);
    expect(srunJobId("srun: unrecognized option '--no-requeue'\n")).toBeUndefined();
    expect(srunJobId('srun: job-name            : job 5 queued\n')).toBeUndefined();
  });
});
