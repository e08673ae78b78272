import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlurmBatchSystem } from '../src/index.js';
import { slurmContext } from './slurm-context.js';

const workDir = mkdtempSync(join(tmpdir(), 'toil-slurm-choices-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A batch system made with `options` (making one asks Slurm nothing). */
function made(options: Record<string, unknown>): SlurmBatchSystem {
  return new SlurmBatchSystem(slurmContext(options, workDir));
}

/** Runs `body` with the environment variable `name` set to `value` (unset when undefined). */
function withEnv<T>(name: string, value: string | undefined, body: () => T): T {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

describe('--slurmStateSource, --slurmWarmLaunch and --slurmLaunch', () => {
  test.each([
    [
      { slurmStateSource: 'accounting' },
      "Unknown Slurm state source 'accounting'.",
      'Use one of: auto, sacct, sacct-completion, scontrol (--slurmStateSource or $TOIL_SLURM_STATE_SOURCE).',
    ],
    [
      { slurmWarmLaunch: 'salloc' },
      "Unknown way to start warm workers 'salloc'.",
      'Use one of: srun, sbatch (--slurmWarmLaunch or $TOIL_SLURM_WARM_LAUNCH).',
    ],
    [
      { slurmLaunch: 'srun' },
      "Unknown way to start one-shot jobs 'srun'.",
      'Use one of: auto, sbatch (--slurmLaunch or $TOIL_SLURM_LAUNCH).',
    ],
  ])('refuse an unknown value %j with the choices', (options, message, hint) => {
    expect(() => made(options)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message, hint }),
    );
  });

  test('take their environment variables, an empty one counting as unset', () => {
    expect(() => withEnv('TOIL_SLURM_WARM_LAUNCH', 'bogus', () => made({}))).toThrow(
      expect.objectContaining({ message: "Unknown way to start warm workers 'bogus'." }),
    );
    expect(() => withEnv('TOIL_SLURM_LAUNCH', 'bogus', () => made({}))).toThrow(
      expect.objectContaining({ message: "Unknown way to start one-shot jobs 'bogus'." }),
    );
    expect(() => withEnv('TOIL_SLURM_STATE_SOURCE', 'bogus', () => made({}))).toThrow(
      expect.objectContaining({ message: "Unknown Slurm state source 'bogus'." }),
    );
    // The option wins over the variable; empty variables fall back to the defaults.
    expect(
      withEnv('TOIL_SLURM_WARM_LAUNCH', 'bogus', () => made({ slurmWarmLaunch: 'sbatch' })),
    ).toBeInstanceOf(SlurmBatchSystem);
    expect(
      withEnv('TOIL_SLURM_STATE_SOURCE', '', () =>
        withEnv('TOIL_SLURM_WARM_LAUNCH', '', () => made({})),
      ),
    ).toBeInstanceOf(SlurmBatchSystem);
  });
});
