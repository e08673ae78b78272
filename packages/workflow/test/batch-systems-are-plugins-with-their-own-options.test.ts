import { findBatchSystem, optionsHelp, parseToilOptions, singleMachine } from '@toil/workflow';
import { thrownToilError } from '../../../tooling/test-env/errors.js';

describe('batch systems as plugins', () => {
  it('find single_machine (and its aliases) built in and slurm as the package @toil/batch-slurm', () => {
    expect(findBatchSystem('single_machine')).toBe(singleMachine);
    expect(findBatchSystem('singleMachine')).toBe(singleMachine);
    const slurm = findBatchSystem('slurm');
    expect(slurm.name).toBe('slurm');
    expect(Object.keys(slurm.options)).toEqual(
      expect.arrayContaining(['slurmPartition', 'slurmTime', 'slurmArgs', 'slurmWorkerCommand']),
    );
  });

  it('refuse an unknown name as a usage error naming the package looked for', () => {
    const error = thrownToilError(() => parseToilOptions(['file:s', '--batchSystem', 'mesos']));
    expect(error.code).toBe('BATCH_SYSTEM_UNKNOWN');
    expect(error.message).toBe("Unknown batch system 'mesos': no @toil/batch-mesos is installed.");
    expect(error.hint).toMatch(/single_machine.*slurm/);
  });

  it("parse a batch system's own options only with that batch system, typed by its specs", () => {
    expect(
      parseToilOptions(['file:s', '--workerIsolation', 'process', '--maxLocalJobs', '3'])
        .batchSystemOptions,
    ).toEqual({ workerIsolation: 'process', maxLocalJobs: 3 });
    expect(
      parseToilOptions([
        'file:s',
        '--batchSystem',
        'slurm',
        '--slurmTime',
        '1-00:00:00',
        "--slurmArgs=--comment 'two words'",
      ]).batchSystemOptions,
    ).toEqual({ slurmTime: 86400, slurmArgs: "--comment 'two words'" });
    expect(
      thrownToilError(() => parseToilOptions(['file:s', '--slurmTime', '1h'])).message,
    ).toMatch(/Unknown argument: slurmTime/);
    expect(
      thrownToilError(() => parseToilOptions(['file:s', '--workerIsolation', 'threads'])).message,
    ).toBe("Invalid --workerIsolation 'threads'.");
    expect(
      thrownToilError(() =>
        parseToilOptions(['file:s', '--batchSystem', 'slurm', '--slurmArgs=--mem=4G']),
      ).message,
    ).toMatch(/--slurmArgs may not contain --mem/);
  });

  it("show the chosen batch system's options in --help", () => {
    const help = optionsHelp('wf.ts', 'slurm');
    expect(help).toContain('Options of the slurm batch system');
    expect(help).toContain('--slurmWorkerCommand VALUE');
    expect(help).toMatch(/Batch systems here: .*single_machine.*slurm/);
    expect(optionsHelp()).toContain('--workerIsolation VALUE {pool,process}');
    expect(
      thrownToilError(() => parseToilOptions(['file:s', '--batchSystem', 'slurm', '--help'])).data
        ?.help,
    ).toContain('--slurmPartition VALUE');
  });
});
