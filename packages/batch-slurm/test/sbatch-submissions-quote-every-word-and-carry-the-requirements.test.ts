import { execFileSync } from 'node:child_process';
import { ToilError } from '@toil/core';
import {
  batchScript,
  parseSlurmArgs,
  readSlurmSettings,
  sbatchArgs,
  shellQuote,
  slurmJobName,
  slurmTime,
} from '@toil/batch-slurm';

const NASTY = [
  "it's",
  '$HOME',
  '`id`',
  '$(touch /tmp/pwned)',
  'a b',
  '"double"',
  '\\',
  'new\nline',
  ';rm -rf /',
  '*',
  '',
  '--flag=x y',
];

const requirements = { cores: 1.5, memory: 3 * 2 ** 30 + 1, disk: 0, preemptible: false };

describe('the batch script', () => {
  it('gives a real shell the exact argv and environment, whatever the characters', () => {
    const script = batchScript({
      jobId: 'j1',
      name: 'Job',
      argv: [
        process.execPath,
        '-e',
        'process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env.TOIL_VALUE }))',
        ...NASTY,
      ],
      env: { TOIL_VALUE: "x'y $z\n`w`" },
    });
    const out = execFileSync('sh', ['-s'], { input: script, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ argv: NASTY, env: "x'y $z\n`w`" });
  });

  it('rejects an environment name a shell cannot set', () => {
    expect(() =>
      batchScript({ jobId: 'j1', name: 'Job', argv: ['true'], env: { 'A;B': '1' } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('single-quotes words so that nothing is expanded', () => {
    expect(shellQuote("a'b")).toBe("'a'\\''b'");
    expect(
      execFileSync('sh', ['-c', `printf %s ${shellQuote('$(id) `id` "x"')}`], { encoding: 'utf8' }),
    ).toBe('$(id) `id` "x"');
  });
});

describe('extra sbatch arguments', () => {
  it('are split like a shell splits them, without expanding anything', () => {
    expect(
      parseSlurmArgs(
        `--account=lab --comment 'two words' --qos="a b" x\\ y $HOME`,
        'TOIL_SLURM_ARGS',
      ),
    ).toEqual(['--account=lab', '--comment', 'two words', '--qos=a b', 'x y', '$HOME']);
  });

  it.each(['--qos=x; rm -rf /', '--qos=x | cat', '--qos=x > f', '--comment *'])(
    'reject shell syntax (%s)',
    (text) => {
      expect(() => parseSlurmArgs(text, '--slurmArgs')).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining('--slurmArgs'),
        }),
      );
    },
  );

  it.each([
    '--mem=4G',
    '--cpus-per-task=2',
    '-c2',
    '-J name',
    '--output=x',
    '--wrap=true',
    '--array=1-3',
  ])('may not set what the batch system sets (%s)', (text) => {
    let error: unknown;
    try {
      parseSlurmArgs(text, 'TOIL_SLURM_ARGS');
    } catch (e) {
      error = e;
    }
    expect(ToilError.is(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as ToilError).hint).toMatch(/Remove/);
  });
});

describe('sbatch arguments', () => {
  const names = {
    jobName: 'toil_wf_j1_Job',
    outputFile: '/logs/o_%j.out',
    errorFile: '/logs/o_%j.err',
  };

  it('carry cores, memory in MiB, output files, partition, time and extra arguments last', () => {
    const settings = readSlurmSettings(
      { slurmPartition: 'other', slurmTime: '2h', slurmArgs: '--qos=short' },
      {},
    );
    expect(sbatchArgs({ jobId: 'j1', name: 'Job', requirements }, settings, names)).toEqual([
      '--parsable',
      '--job-name=toil_wf_j1_Job',
      '--output=/logs/o_%j.out',
      '--error=/logs/o_%j.err',
      '--cpus-per-task=2',
      '--mem=3073M',
      '--partition=other',
      '--time=0-02:00:00',
      '--qos=short',
    ]);
  });

  it("use the job's runtime over --slurmTime and leave memory out with --slurmNoMem", () => {
    const settings = readSlurmSettings({ slurmTime: '2h', slurmNoMem: true }, {});
    const args = sbatchArgs(
      { jobId: 'j1', name: 'Job', requirements: { ...requirements, runtime: 90061.2 } },
      settings,
      names,
    );
    expect(args).toContain('--time=1-01:01:02');
    expect(args.some((a) => a.startsWith('--mem'))).toBe(false);
  });

  it('read TOIL_SLURM_ARGS, TOIL_SLURM_PARTITION and TOIL_SLURM_TIME when the options are absent', () => {
    const settings = readSlurmSettings(
      {},
      { TOIL_SLURM_ARGS: "--comment 'a b'", TOIL_SLURM_PARTITION: 'p', TOIL_SLURM_TIME: '30:00' },
    );
    expect(settings).toEqual({
      extraArgs: ['--comment', 'a b'],
      partition: 'p',
      defaultTime: 1800,
      noMem: false,
    });
    expect(
      readSlurmSettings({ slurmArgs: '--qos=q' }, { TOIL_SLURM_ARGS: '--qos=env' }).extraArgs,
    ).toEqual(['--qos=q']);
  });

  it('reject a bad --slurmTime', () => {
    expect(() => readSlurmSettings({ slurmTime: 'soon' }, {})).toThrow(
      expect.objectContaining({ code: 'INVALID_DURATION' }),
    );
  });

  it('name the job after the workflow and the job, with nothing a shell or Slurm would mind', () => {
    expect(slurmJobName('ab12', { jobId: 'kind/j 1', name: 'My Job; rm' })).toBe(
      'toil_ab12_kind_j_1_My_Job_rm',
    );
  });

  it('format times the way sbatch reads them', () => {
    expect(slurmTime(0.2)).toBe('0-00:00:01');
    expect(slurmTime(59)).toBe('0-00:00:59');
    expect(slurmTime(3 * 86400 + 3661)).toBe('3-01:01:01');
  });
});
