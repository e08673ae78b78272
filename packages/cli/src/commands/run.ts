import { createRequire } from 'node:module';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defineCommand } from '../command.js';
import { jobStorePositional } from './job-store-options.js';

const ENGINE_OPTIONS =
  'Workflow options (Toil names and defaults): --stats, --clean {always,onError,never,onSuccess}, --cleanWorkDir, --restart, --retryCount N, --maxCores, --maxMemory, --maxDisk, --defaultCores, --defaultMemory, --defaultDisk, --workDir, --batchSystem NAME (single_machine, or NAME of an installed @toil/batch-NAME package), and the options the chosen batch system declares. Unknown options are an error.';

/**
 * The batch systems found from here and the options each declares, read from their plugins
 * (only for `--help`: it loads @toil/workflow and the plugins).
 */
function batchSystemsHelp(): string {
  const workflow = createRequire(import.meta.url)(
    '@toil/workflow',
  ) as typeof import('@toil/workflow');
  const from = join(process.cwd(), 'workflow.js');
  const lines = workflow.batchSystemNames(from).map((name) => {
    const plugin = workflow.findBatchSystem(name, from);
    const flags = Object.keys(plugin.options).map((option) => `--${option}`);
    return `--batchSystem ${plugin.name}: ${flags.join(', ') || '(no options)'}`;
  });
  return `Batch systems here and their options:\n  ${lines.join('\n  ')}`;
}

/**
 * `toil run WORKFLOW JOBSTORE [options]`: runs a workflow file as its own program (TypeScript
 * compiled once with esbuild, JavaScript as is). The workflow's options (`--stats`, `--restart`, ...) pass
 * through to it; the logging options are forwarded too.
 */
export default defineCommand({
  usage: 'run <workflow> <jobStore>',
  describe: 'Run a workflow file (TypeScript or JavaScript) against a job store.',
  positionals: {
    workflow: {
      type: 'string',
      demandOption: true,
      describe: 'The workflow file (.ts, .mts, .js, .mjs) that calls Job.Runner.main.',
    },
    ...jobStorePositional,
  },
  options: {},
  passThrough: true,
  examples: [
    ['toil run examples/discoverfiles.ts file:my-jobstore --stats', 'Run the example, keep stats'],
    ['toil run wf.ts file:my-jobstore --restart', 'Resume a workflow after a failure or kill'],
  ],
  get epilogue() {
    const help = process.argv.includes('--help') || process.argv.includes('-h');
    return help ? `${ENGINE_OPTIONS}\n\n${batchSystemsHelp()}` : ENGINE_OPTIONS;
  },
  async ownHelp(argv) {
    // `toil run WF [JOBSTORE] --help`: the workflow's own --help lists its options and Toil's.
    const words = argv.slice(argv.indexOf('run') + 1).filter((word) => !word.startsWith('-'));
    const workflow = words[0];
    if (!workflow || !existsSync(workflow) || !statSync(workflow).isFile()) return undefined;
    const { runWorkflowFile } = await import('@toil/workflow/run-workflow');
    const preload = resolveToilPreload();
    return runWorkflowFile({
      workflow,
      args: ['--help'],
      inProcess: true,
      ...preloadEnv(preload),
    });
  },
  async run(args, context) {
    const { runWorkflowFile } = await import('@toil/workflow/run-workflow');
    // yargs keeps unknown options (the workflow's own) in `_`, after the command name.
    const rest = args._.slice(1).map(String);
    const logging: string[] = [];
    if (context.logLevel !== 'info') logging.push('--logLevel', context.logLevel);
    const logFile = (args as Record<string, unknown>).logFile;
    if (typeof logFile === 'string') logging.push('--logFile', logFile);
    const preload = resolveToilPreload();
    return runWorkflowFile({
      workflow: args.workflow,
      args: [args.jobStore, ...rest, ...logging],
      // This process exists to run the workflow: it becomes the workflow program.
      inProcess: true,
      ...preloadEnv(preload),
    });
  },
});

/**
 * The environment that loads `preload` into the workflow program, given only when the
 * workflow cannot resolve its `@toil/*` imports itself (the hook costs every process a loader
 * thread). `TOIL_RESOLVE_HOOK` names it for the program's workers: the preload takes itself
 * out of their `NODE_OPTIONS`, and a worker loads it only when its workflow module's
 * `@toil/*` imports need it.
 */
function preloadEnv(preload: string | undefined): { toilFallbackEnv?: NodeJS.ProcessEnv } {
  if (!preload) return {};
  return {
    toilFallbackEnv: {
      NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${preload}`].filter(Boolean).join(' '),
      TOIL_RESOLVE_HOOK: preload,
    },
  };
}

/**
 * The URL of the built `dist/resolve-toil.js` of this package, which makes a workflow's
 * `@toil/*` imports fall back to the CLI's copies; undefined when the CLI runs unbuilt.
 */
function resolveToilPreload(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const preload = join(dir, 'dist', 'resolve-toil.js');
      return existsSync(preload) ? pathToFileURL(preload).href : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}
