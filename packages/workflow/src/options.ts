import type { RunScalingOptions } from '@toil/provisioner';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type Yargs from 'yargs';
import type { Options as YargsOptions } from 'yargs';
import {
  LOGGING_OPTIONS,
  ToilError,
  UsageError,
  parseSize,
  resolveLogLevel,
  type LogLevel,
} from '@toil/core';
import { optionHelpLines, parseBatchSystemOptions, type OptionSpecs } from '@toil/batch-system';
import type { CleanPolicy } from '@toil/jobstore';
import { batchSystemNames, findBatchSystem } from './batch-registry.js';
import { PACKAGE_CODE_DIR } from './here.js';
import {
  checkWorkflowOptionSpecs,
  needsValue,
  numberValue,
  workflowOptionHelpLines,
  workflowOptionValues,
  yargsSpecsOf,
  type WorkflowOptionSpecs,
} from './workflow-options.js';

/**
 * yargs, loaded when options are parsed (synchronously, as parsing is): importing the package
 * (as every worker does through the workflow module) loads none of its ~50 modules.
 */
function loadYargs(): typeof Yargs {
  return createRequire(join(PACKAGE_CODE_DIR, 'noop.js'))('yargs') as typeof Yargs;
}

/** `--clean` / `--cleanWorkDir` values. */
export const CLEAN_POLICIES = ['always', 'onError', 'never', 'onSuccess'] as const;

/** Toil's defaults (5.9): 2 GiB of memory and disk, one core, one retry. */
export const DEFAULTS = {
  defaultCores: 1,
  defaultMemory: 2 * 1024 ** 3,
  defaultDisk: 2 * 1024 ** 3,
  retryCount: 1,
  clean: 'onSuccess' as CleanPolicy,
  cleanWorkDir: 'always' as CleanPolicy,
  batchSystem: 'single_machine',
};

/** The options of a workflow run (Toil's `Config`). Sizes are bytes; `null` max = unlimited. */
export interface ToilOptions {
  /** The job store locator as given (`file:PATH`, `PATH`, `aws:REGION:NAME`). */
  jobStore: string;
  /** Absolute path of the workflow module that defines the job classes. */
  workflowModule?: string;
  stats: boolean;
  clean: CleanPolicy;
  cleanWorkDir: CleanPolicy;
  restart: boolean;
  retryCount: number;
  /** `--disableChaining`: a job's only successor never runs in its worker; all go through the leader. */
  disableChaining: boolean;
  maxCores: number | null;
  maxMemory: number | null;
  maxDisk: number | null;
  defaultCores: number;
  defaultMemory: number;
  defaultDisk: number;
  /** Base directory of workers' temporary directories (default: the system temp dir). */
  workDir?: string;
  /**
   * The batch system's name as its plugin calls it: `single_machine` (default), or NAME of a
   * package `@toil/batch-NAME` (`slurm`), or a plugin given to `registerBatchSystem`.
   */
  batchSystem: string;
  logLevel: LogLevel;
  logFile?: string;
  /**
   * The batch system's own options, parsed by the specs its plugin declares (single machine:
   * `workerIsolation`, `maxLocalJobs`; Slurm: `slurmArgs`, `slurmTime` in seconds, ...).
   */
  batchSystemOptions: Record<string, unknown>;
  /** Names of the options given explicitly (they override stored ones on restart). */
  given: string[];
  /**
   * Toil's autoscaling options (`--provisioner` and the options that go with it), checked
   * against the node groups of the cluster the run is on before anything is stored.
   */
  scaling?: ScalingOptions;
}

/** Toil's autoscaling options of a run, as given (see `checkRunScaling` of `@toil/provisioner`). */
export type ScalingOptions = RunScalingOptions;

/** The autoscaling options, which need `--provisioner`. */
const SCALING_OPTIONS = ['nodeTypes', 'minNodes', 'maxNodes', 'targetTime', 'nodeStorage'] as const;

/** Toil's options as yargs option specs (one definition: parser, help and validation). */
export const TOIL_OPTION_SPECS = {
  stats: {
    type: 'boolean',
    describe: 'Record statistics (keeps the job store: implies --clean never).',
  },
  clean: {
    type: 'string',
    choices: CLEAN_POLICIES,
    describe: 'When to delete the job store at the end (default onSuccess).',
  },
  cleanWorkDir: {
    type: 'string',
    choices: CLEAN_POLICIES,
    describe: "When to delete a job's temporary directory after it ran (default always).",
  },
  restart: { type: 'boolean', describe: 'Resume the workflow in an existing job store.' },
  retryCount: { type: 'string', describe: 'How many times a failed job is retried (default 1).' },
  disableChaining: {
    type: 'boolean',
    describe: "Run a job's only successor through the leader instead of in the same worker.",
  },
  maxCores: {
    type: 'string',
    describe: 'Most cores used at once (default: unlimited; single machine: its cores).',
  },
  maxMemory: {
    type: 'string',
    describe: 'Most memory used at once, e.g. 8G (default: unlimited; single machine: its memory).',
  },
  maxDisk: { type: 'string', describe: 'Most disk used at once (default: unlimited).' },
  defaultCores: { type: 'string', describe: 'Cores of a job that does not say (default 1).' },
  defaultMemory: { type: 'string', describe: 'Memory of a job that does not say (default 2Gi).' },
  defaultDisk: { type: 'string', describe: 'Disk of a job that does not say (default 2Gi).' },
  workDir: {
    type: 'string',
    describe: "Where workers' temporary directories go (default: system temp dir).",
  },
  batchSystem: {
    type: 'string',
    describe:
      'single_machine (default), or NAME of an installed @toil/batch-NAME package (slurm); its options follow.',
  },
  provisioner: {
    type: 'string',
    choices: ['aws', 'gce'],
    describe:
      "On a launched cluster's leader: the cluster's provisioner; its node groups scale the run (implies --batchSystem slurm).",
  },
  nodeTypes: {
    type: 'string',
    describe:
      "With --provisioner: node types to use, TYPE[/TYPE...][:BID] comma-separated; each must be one of the cluster's node groups.",
  },
  minNodes: {
    type: 'string',
    describe:
      'With --provisioner: least nodes of each node type (the cluster keeps its own minimum).',
  },
  maxNodes: {
    type: 'string',
    describe:
      "With --provisioner: most nodes of each node type; at most the cluster group's maximum.",
  },
  targetTime: {
    type: 'string',
    describe:
      "With --provisioner: accepted for Toil's command lines; Slurm starts a node for every waiting job that fits one.",
  },
  nodeStorage: {
    type: 'string',
    describe: "With --provisioner: the nodes' disk in GB; must be the cluster's.",
  },
  ...LOGGING_OPTIONS,
} as const;

/** Keys of {@link ToilOptions} that are not command-line options (a workflow option may not use them). */
const TOIL_OPTION_KEYS = [
  'jobStore',
  'workflowModule',
  'logLevel',
  'batchSystemOptions',
  'given',
] as const;

/**
 * Usage text for a workflow program's `--help`: the workflow's own options (when it declares
 * some), the engine's options, then the options of the batch system given with `--batchSystem`
 * (default single machine), then the batch systems installed here.
 */
export function optionsHelp(
  program = 'workflow',
  batchSystem = DEFAULTS.batchSystem,
  workflowOptions: WorkflowOptionSpecs = {},
  description?: string,
): string {
  const own = Object.keys(workflowOptions).length
    ? `Options of this workflow:\n${workflowOptionHelpLines(workflowOptions).join('\n')}\n\n`
    : '';
  const lines = Object.entries(TOIL_OPTION_SPECS).map(([name, spec]) => {
    const choices = 'choices' in spec ? ` {${spec.choices.join(',')}}` : '';
    const value = spec.type === 'boolean' ? '' : ` ${name === 'logLevel' ? 'LEVEL' : 'VALUE'}`;
    return `  --${name}${value}${choices}\n      ${spec.describe}`;
  });
  const module = mainModule();
  let plugin: string;
  try {
    const found = findBatchSystem(batchSystem, module);
    plugin = `Options of the ${found.name} batch system (${found.describe}):\n${optionHelpLines(found.options).join('\n')}\n`;
  } catch (error) {
    plugin = `${ToilError.is(error) ? error.message : String(error)}\n`;
  }
  const names = batchSystemNames(module).join(', ');
  const about = description ? `${description}\n\n` : '';
  return `Usage: ${program} JOBSTORE [options]\n\n${about}JOBSTORE: file:PATH, PATH or aws:REGION:NAME\n\n${own}Toil's options:\n${lines.join('\n')}\n  --help\n      Show this help.\n\n${plugin}\nBatch systems here: ${names} (--batchSystem NAME --help shows NAME's options).\n`;
}

/** The value of `--batchSystem` in `argv` before parsing (its plugin's options are parsed with it). */
function batchSystemArg(argv: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--batchSystem') return argv[i + 1] ?? DEFAULTS.batchSystem;
    if (arg.startsWith('--batchSystem=')) return arg.slice('--batchSystem='.length);
  }
  // A launched cluster runs Slurm: Toil users give --provisioner without a batch system.
  if (argv.some((arg) => arg === '--provisioner' || arg.startsWith('--provisioner=')))
    return 'slurm';
  return DEFAULTS.batchSystem;
}

/** The option specs {@link parsePlainCommandLine} reads (yargs' form). @internal */
export type PlainSpecs = Record<
  string,
  { type?: string; choices?: readonly unknown[]; demandOption?: boolean }
>;

/**
 * What yargs gives for `argv` with these options (strict, names as written, no help). Bad
 * input is a `UsageError` with yargs' words. @internal
 */
export function parseWithYargs(argv: string[], specs: PlainSpecs): Record<string, unknown> {
  try {
    return loadYargs()(argv)
      .options(specs as Record<string, YargsOptions>)
      .strictOptions()
      .help(false)
      .version(false)
      .exitProcess(false)
      .parserConfiguration({ 'camel-case-expansion': false, 'strip-dashed': true })
      .fail((message, error) => {
        if (error) throw error;
        throw new UsageError(message.replace(/\n+/g, ' '), {
          hint: 'Pass --help for the options of a workflow.',
        });
      })
      .parseSync() as Record<string, unknown>;
  } catch (error) {
    if (ToilError.is(error)) throw error;
    throw new UsageError((error as Error).message, {
      hint: 'Pass --help for the options of a workflow.',
    });
  }
}

/**
 * What {@link parseWithYargs} gives for a plain command line, without loading yargs (its
 * modules and parse are ~0.1 s of CPU, a fifth of a one-job run): positional words that do not
 * look like numbers, and options among `specs`, each given once, as `--name` (boolean, not
 * followed by `true`/`false`) or `--name value` / `--name=value` (string: a non-empty value
 * that is not a flag, within the option's choices), every required option given. Undefined for
 * anything else, which yargs parses (and words the errors of). @internal
 */
export function parsePlainCommandLine(
  argv: string[],
  specs: PlainSpecs,
): Record<string, unknown> | undefined {
  const positionals: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      // yargs reads a numeric word as a number.
      if (arg === '' || /^[+-]?\.?\d/.test(arg)) return undefined;
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) return undefined;
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec || Object.hasOwn(parsed, name) || !/^[A-Za-z][A-Za-z0-9]*$/.test(name))
      return undefined;
    if (spec.type === 'boolean') {
      const next = argv[i + 1];
      if (equals >= 0 || next === 'true' || next === 'false') return undefined;
      parsed[name] = true;
    } else if (spec.type === 'string') {
      const value = equals >= 0 ? arg.slice(equals + 1) : argv[++i];
      if (value === undefined || value === '' || (equals < 0 && value.startsWith('-')))
        return undefined;
      if (spec.choices && !spec.choices.includes(value)) return undefined;
      parsed[name] = value;
    } else {
      return undefined;
    }
  }
  for (const [name, spec] of Object.entries(specs))
    if (spec.demandOption && !Object.hasOwn(parsed, name)) return undefined;
  return { _: positionals, ...parsed };
}

/** Options whose values are numbers (parsed here, so errors show what the user typed). */
const NUMBER_OPTIONS = new Set(['retryCount', 'maxCores', 'defaultCores']);

/** How `--help` names the program: `toil run FILE` when the CLI runs it, else `node FILE`. */
function programName(): string {
  const file = process.env.TOIL_RUN_WORKFLOW ?? process.argv[1];
  if (!file) return 'workflow';
  return process.env.TOIL_RUN_WORKFLOW ? `toil run ${file}` : `node ${file}`;
}

/** The main script of this process, when there is one. */
function mainModule(): string | undefined {
  const script = process.argv[1];
  if (!script) return undefined;
  try {
    return realpathSync(resolve(script));
  } catch {
    return resolve(script);
  }
}

/** What a workflow adds to Toil's command line (see `Job.Runner.getDefaultArgumentParser`). */
export interface WorkflowCommandLine {
  /** The workflow's own options, parsed with Toil's and returned beside them. */
  options?: WorkflowOptionSpecs;
  /** A line about the workflow, shown at the top of `--help`. */
  description?: string;
}

/**
 * Parses a workflow program's command line into {@link ToilOptions} (Toil's
 * `Job.Runner.getDefaultOptions()` + `parse_args()`): `JOBSTORE [options]`, plus the workflow's
 * own options when it declares some (their values are returned under their names beside
 * Toil's). Unknown options and bad values are a `UsageError`; `--help` throws a `UsageError`
 * whose `data.help` holds the usage text.
 */
export function parseToilOptions(
  argv: string[] = process.argv.slice(2),
  commandLine: WorkflowCommandLine = {},
): ToilOptions & Record<string, unknown> {
  const workflowSpecs = commandLine.options ?? {};
  const batchSystemName = batchSystemArg(argv);
  if (argv.includes('--help') || argv.includes('-h')) {
    throw new UsageError('Help requested.', {
      data: {
        help: optionsHelp(programName(), batchSystemName, workflowSpecs, commandLine.description),
      },
    });
  }
  // The batch system is found first: its options are part of the command line.
  const plugin = findBatchSystem(batchSystemName, mainModule());
  checkWorkflowOptionSpecs(
    workflowSpecs,
    new Set([
      ...Object.keys(TOIL_OPTION_SPECS),
      ...Object.keys(plugin.options),
      ...TOIL_OPTION_KEYS,
    ]),
  );
  const ownSpecs = yargsSpecsOf(workflowSpecs);
  const pluginSpecs: Record<string, object> = {};
  for (const [name, spec] of Object.entries(plugin.options as OptionSpecs)) {
    pluginSpecs[name] = {
      type: spec.type === 'number' ? 'string' : spec.type,
      describe: spec.describe,
    };
  }
  const pluginNumbers = new Set(
    Object.entries(plugin.options as OptionSpecs)
      .filter(([, spec]) => spec.type === 'number')
      .map(([name]) => name),
  );
  const valueOptions = [
    ...Object.entries(TOIL_OPTION_SPECS),
    ...Object.entries(pluginSpecs as Record<string, { type: string }>),
    ...Object.entries(ownSpecs as Record<string, { type: string }>),
  ]
    .filter(([, spec]) => spec.type !== 'boolean')
    .map(([name]) => name);
  // `--defaultMemory -5G`: the value starts with a dash, which yargs would read as short
  // flags ("Unknown arguments: 5, G"); keep it the option's value so the check below names it.
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (
      next !== undefined &&
      /^-\d|^-\.\d/.test(next) &&
      arg.startsWith('--') &&
      valueOptions.includes(arg.slice(2))
    ) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else {
      joined.push(arg);
    }
  }
  const specs = { ...TOIL_OPTION_SPECS, ...pluginSpecs, ...ownSpecs } as PlainSpecs;
  const parsed = parsePlainCommandLine(joined, specs) ?? parseWithYargs(joined, specs);
  const positionals = (parsed._ as Array<string | number>).map(String);
  if (positionals.length === 0) {
    throw new UsageError('Missing the job store argument.', {
      hint: 'Give a job store locator first, e.g. file:my-jobstore.',
    });
  }
  if (positionals.length > 1) {
    throw new UsageError(`Unexpected argument '${positionals[1]}'.`, {
      hint: 'A workflow takes one job store locator and --options.',
    });
  }
  const own = workflowOptionValues(workflowSpecs, parsed);
  for (const name of valueOptions) {
    if (name in workflowSpecs) continue;
    const value = parsed[name];
    // An option given twice is an array: the last one wins, as in Toil's argparse.
    if (Array.isArray(value)) parsed[name] = value.at(-1);
    if (parsed[name] === '' || parsed[name] === null) {
      throw needsValue(name, NUMBER_OPTIONS.has(name) || pluginNumbers.has(name));
    }
  }
  const given = [...Object.keys(TOIL_OPTION_SPECS), ...Object.keys(pluginSpecs)].filter(
    (name) => parsed[name] !== undefined,
  );
  const size = (name: string): number | undefined =>
    parsed[name] === undefined ? undefined : parseSize(String(parsed[name]), `--${name}`);
  // Options not given may come from the batch system's environment variables ($TOIL_SLURM_ARGS).
  const batchSystemOptions = parseBatchSystemOptions(plugin.options, parsed) as Record<
    string,
    unknown
  >;
  const maxCores =
    parsed.maxCores === undefined ? null : numberValue(parsed.maxCores, 'maxCores', { min: 0 });
  const defaultCores =
    parsed.defaultCores === undefined
      ? DEFAULTS.defaultCores
      : numberValue(parsed.defaultCores, 'defaultCores', { min: 0 });
  if (maxCores === 0 || defaultCores === 0) {
    throw new UsageError('Cores must be more than 0.', {
      hint: 'Give --maxCores / --defaultCores > 0.',
    });
  }
  const scalingGiven = SCALING_OPTIONS.filter((name) => parsed[name] !== undefined);
  if (scalingGiven.length > 0 && parsed.provisioner === undefined)
    throw new UsageError(`--${scalingGiven[0]} needs --provisioner.`, {
      hint: "On a launched cluster's leader, add --provisioner aws (the cluster's provisioner).",
    });
  const scaling: ScalingOptions | undefined =
    parsed.provisioner === undefined
      ? undefined
      : {
          provisioner: String(parsed.provisioner),
          ...Object.fromEntries(scalingGiven.map((name) => [name, String(parsed[name])])),
        };
  return {
    ...own,
    ...(scaling ? { scaling } : {}),
    jobStore: positionals[0]!,
    workflowModule: mainModule(),
    stats: Boolean(parsed.stats),
    clean: (parsed.clean as CleanPolicy | undefined) ?? DEFAULTS.clean,
    cleanWorkDir: (parsed.cleanWorkDir as CleanPolicy | undefined) ?? DEFAULTS.cleanWorkDir,
    restart: Boolean(parsed.restart),
    disableChaining: Boolean(parsed.disableChaining),
    retryCount:
      parsed.retryCount === undefined
        ? DEFAULTS.retryCount
        : numberValue(parsed.retryCount, 'retryCount', { min: 0, integer: true }),
    maxCores,
    maxMemory: size('maxMemory') ?? null,
    maxDisk: size('maxDisk') ?? null,
    defaultCores,
    defaultMemory: size('defaultMemory') ?? DEFAULTS.defaultMemory,
    defaultDisk: size('defaultDisk') ?? DEFAULTS.defaultDisk,
    workDir: parsed.workDir === undefined ? undefined : resolve(String(parsed.workDir)),
    batchSystem: plugin.name,
    logLevel: resolveLogLevel(parsed),
    logFile: parsed.logFile === undefined ? undefined : String(parsed.logFile),
    batchSystemOptions,
    given,
  };
}

/**
 * Options for a workflow started from code rather than a command line: Toil's defaults, the
 * given job store, and any overrides.
 */
export function defaultToilOptions(
  jobStore: string,
  overrides: Partial<ToilOptions> = {},
): ToilOptions {
  return {
    ...parseToilOptions([jobStore]),
    ...overrides,
    given: [...Object.keys(overrides)],
  };
}
