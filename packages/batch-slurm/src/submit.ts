import { parseDuration, ToilError } from '@toil/core';
import type { JobRequirements } from '@toil/batch-system';
import { parse as parseShellWords } from 'shell-quote';

/** One Slurm job to submit: a command and what it needs. */
export interface SlurmSubmission {
  /** Job id in the job store (for names and messages). */
  jobId: string;
  /** The job's display name. */
  name: string;
  requirements: JobRequirements;
  /** The command the batch script `exec`s. */
  argv: string[];
  /** Environment the batch script exports. */
  env: Record<string, string>;
}

/**
 * Quotes one word for a POSIX shell: wrapped in single quotes, each `'` written as `'\''`.
 * Nothing inside single quotes is special to the shell, so any string is safe.
 */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The batch script sbatch reads on stdin for one job attempt: it exports the job's
 * environment and `exec`s its argv, every word single-quoted.
 *
 * @throws ToilError `INVALID_ARGUMENT` for an environment variable name a shell cannot set.
 */
export function batchScript(job: Pick<SlurmSubmission, 'jobId' | 'name' | 'argv' | 'env'>): string {
  if (job.argv.length === 0)
    throw new ToilError('INVALID_ARGUMENT', `Job ${job.name} (${job.jobId}) has an empty command.`);
  const lines = ['#!/bin/sh', `# toil-ts job ${JSON.stringify(job.jobId)}`];
  for (const [name, value] of Object.entries(job.env)) {
    if (!ENV_NAME.test(name))
      throw new ToilError(
        'INVALID_ARGUMENT',
        `Job ${job.name} (${job.jobId}): environment variable name ${JSON.stringify(name)} cannot be passed to a Slurm job.`,
        { hint: 'Use names made of letters, digits and underscores, not starting with a digit.' },
      );
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  lines.push(`exec ${job.argv.map(shellQuote).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** sbatch options the batch system sets itself; extra arguments may not contain them. */
const RESERVED_OPTIONS = new Map<string, string>([
  ['--mem', 'memory comes from the job requirements (use --slurmNoMem to leave it to Slurm)'],
  [
    '--mem-per-cpu',
    'memory comes from the job requirements (use --slurmNoMem to leave it to Slurm)',
  ],
  ['--cpus-per-task', 'cores come from the job requirements'],
  ['-c', 'cores come from the job requirements'],
  ['--job-name', 'the job name identifies the workflow and job'],
  ['-J', 'the job name identifies the workflow and job'],
  ['--output', 'output files are set per job'],
  ['-o', 'output files are set per job'],
  ['--error', 'output files are set per job'],
  ['-e', 'output files are set per job'],
  ['--wrap', 'the job command is the batch script'],
  ['--parsable', 'set already'],
  ['--array', 'each job attempt is one Slurm job'],
  ['-a', 'each job attempt is one Slurm job'],
]);

/**
 * Splits extra sbatch arguments (`--slurmArgs` or `TOIL_SLURM_ARGS`) the way a shell would,
 * without a shell: quotes and backslashes work, `$VAR` stays literal, and operators (`;`, `|`,
 * `>`...) or globs are rejected.
 *
 * @throws ToilError `INVALID_ARGUMENT` for shell syntax or options the batch system sets itself.
 */
export function parseSlurmArgs(text: string, source: string): string[] {
  const words = shellWords(text, source);
  for (const word of words) {
    const option = word.startsWith('--')
      ? word.split('=')[0]!
      : word.startsWith('-')
        ? word.slice(0, 2)
        : '';
    const why = RESERVED_OPTIONS.get(option);
    if (why !== undefined)
      throw new ToilError('INVALID_ARGUMENT', `${source} may not contain ${option}: ${why}.`, {
        hint: `Remove ${option} from ${source}.`,
      });
  }
  return words;
}

/**
 * Splits a command line the way a shell would, without a shell: quotes and backslashes work,
 * `$VAR` stays literal, and operators (`;`, `|`, `>`...) or globs are rejected.
 *
 * @throws ToilError `INVALID_ARGUMENT` for shell syntax.
 */
export function shellWords(text: string, source: string): string[] {
  const words: string[] = [];
  for (const entry of parseShellWords(text, (name) => `$${name}`)) {
    if (typeof entry !== 'string') {
      const what =
        'op' in entry ? `'${entry.op === 'glob' ? entry.pattern : entry.op}'` : 'a comment';
      throw new ToilError(
        'INVALID_ARGUMENT',
        `${source} contains ${what}, which is shell syntax, not an sbatch argument.`,
        {
          hint: 'Give plain sbatch options, e.g. "--account=lab --qos=short"; quote values that contain special characters.',
        },
      );
    }
    words.push(entry);
  }
  return words;
}

/** Formats seconds as Slurm's `D-HH:MM:SS`, rounding up to whole seconds. */
export function slurmTime(seconds: number): string {
  const total = Math.max(1, Math.ceil(seconds));
  const days = Math.floor(total / 86400);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  return `${days}-${pad(h)}:${pad(m)}:${pad(total % 60)}`;
}

/** Slurm settings of a workflow, from its options and the environment. */
export interface SlurmSettings {
  /** Extra sbatch arguments, already split. */
  extraArgs: string[];
  /** Partition for every job, if any. */
  partition?: string;
  /** Default time limit in seconds for jobs without a runtime requirement. */
  defaultTime?: number;
  /** Leave `--mem` out (the cluster's default memory applies). */
  noMem: boolean;
}

/**
 * Reads the Slurm options (`slurmArgs`, `slurmPartition`, `slurmTime`, `slurmNoMem`) and the
 * environment (`TOIL_SLURM_ARGS`, `TOIL_SLURM_PARTITION`, `TOIL_SLURM_TIME`); options win.
 *
 * @throws ToilError `INVALID_ARGUMENT` / `INVALID_DURATION` for bad values.
 */
export function readSlurmSettings(
  options: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): SlurmSettings {
  const text = (key: string, envName: string): string | undefined => {
    const value = options[key];
    if (value !== undefined && value !== null && value !== '') {
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new ToilError('INVALID_ARGUMENT', `--${key} must be a string.`);
      return String(value);
    }
    return env[envName] || undefined;
  };
  const argsText = text('slurmArgs', 'TOIL_SLURM_ARGS');
  const argsSource = options.slurmArgs ? '--slurmArgs' : 'TOIL_SLURM_ARGS';
  const timeText = text('slurmTime', 'TOIL_SLURM_TIME');
  const partition = text('slurmPartition', 'TOIL_SLURM_PARTITION');
  return {
    extraArgs: argsText === undefined ? [] : parseSlurmArgs(argsText, argsSource),
    ...(partition === undefined ? {} : { partition }),
    ...(timeText === undefined ? {} : { defaultTime: parseDuration(timeText, '--slurmTime') }),
    noMem: options.slurmNoMem === true || options.slurmNoMem === 'true',
  };
}

/** Makes a string safe and short for a Slurm job name (no spaces, no shell specials). */
export function slurmJobName(
  workflow: string,
  job: Pick<SlurmSubmission, 'jobId' | 'name'>,
): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `toil_${clean(workflow)}_${clean(job.jobId)}_${clean(job.name)}`.slice(0, 200);
}

/**
 * The sbatch argv (without the program) for one job attempt; the script comes on stdin.
 * Extra arguments come last so that they override partition and time.
 */
export function sbatchArgs(
  job: Pick<SlurmSubmission, 'jobId' | 'name' | 'requirements'>,
  settings: SlurmSettings,
  names: { jobName: string; outputFile: string; errorFile: string },
): string[] {
  const args = [
    '--parsable',
    `--job-name=${names.jobName}`,
    `--output=${names.outputFile}`,
    `--error=${names.errorFile}`,
    `--cpus-per-task=${Math.max(1, Math.ceil(job.requirements.cores))}`,
  ];
  if (!settings.noMem && job.requirements.memory > 0)
    args.push(`--mem=${Math.ceil(job.requirements.memory / 2 ** 20)}M`);
  if (settings.partition !== undefined) args.push(`--partition=${settings.partition}`);
  const time = job.requirements.runtime ?? settings.defaultTime;
  if (time !== undefined) args.push(`--time=${slurmTime(time)}`);
  args.push(...settings.extraArgs);
  return args;
}
