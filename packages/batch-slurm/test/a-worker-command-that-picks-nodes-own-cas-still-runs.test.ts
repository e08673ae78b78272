import { join } from 'node:path';
import { selfSignedCertificate } from '../../../tooling/test-env/certificates.js';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import { acquireSlurm, describeWithSlurm, releaseSlurm } from '../../../tooling/test-env/slurm.js';
import { FIXTURE, notes, scratch } from './slurm-workflows.js';

/**
 * With NODE_EXTRA_CA_CERTS set, the engine gives its workers a faster CA store through
 * `--use-openssl-ca` in NODE_OPTIONS. Node refuses that next to `--use-bundled-ca`, so a
 * `--slurmWorkerCommand` passing `--use-bundled-ca` must get the user's settings unchanged
 * (before, every job failed with "either --use-openssl-ca or --use-bundled-ca can be used").
 */
describeWithSlurm('a --slurmWorkerCommand that picks Node’s own CA store', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it.each([
    ['one Slurm job per job', []],
    ['warm workers', ['--slurmWarmWorkers', '2', '--slurmWarmIdle', '10']],
  ])(
    'runs its jobs with the user’s CA settings (%s)',
    async (_mode, extra) => {
      const { dir, store, out, slurm } = scratch('ca-', extra);
      // A certificate Node does not bundle: the engine would otherwise give workers its own store.
      const certificate = join(dir, 'extra-ca.pem');
      selfSignedCertificate(
        certificate,
        join(dir, 'extra-ca.key'),
        '/CN=toil-ts test CA for a custom worker command',
      );
      const worker = join(REPO_ROOT, 'packages', 'workflow', 'dist', 'worker.js');
      const command = `${process.execPath} --use-bundled-ca ${worker}`;
      const run = await runToil(
        ['run', FIXTURE, store, ...slurm, '--retryCount', '0', `--slurmWorkerCommand=${command}`],
        {
          env: {
            ...process.env,
            NODE_EXTRA_CA_CERTS: certificate,
            NODE_OPTIONS: '--max-old-space-size=300',
            TOIL_TEST_CASE: 'caSettings',
            TOIL_TEST_COUNT: '3',
            TOIL_TEST_OUT: out,
          },
        },
      );
      expect(run.stderr).not.toMatch(/use-openssl-ca/);
      expect(run.code).toBe(0);
      expect(notes(out).sort()).toEqual(
        [0, 1, 2].map((i) => `ca ${i} ${certificate} --max-old-space-size=300 --use-bundled-ca`),
      );
    },
    180_000,
  );
});
