/**
 * `@toil/workflow/run-workflow`: {@link runWorkflowFile}, what `toil run` calls, as its own
 * entry point so that the CLI starts a workflow without loading the engine.
 *
 * @packageDocumentation
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { constants, tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ToilError } from '@toil/core';
import { PACKAGE_CODE_DIR } from './here.js';
import { STARTED_MARKER_ENV } from './started-marker.js';
import { COMPILED_ENV, compileWorkflow, type CompiledWorkflow } from './compile.js';
import { offerPoolWorker, peekPoolWorkerOffer, takePoolWorkerOffer } from './pool-worker-offer.js';
import { otherBatchSystem, poolWorkerPlace } from './early-worker.js';
import { discardBatchPrestartOffer } from './batch-prestart-offer.js';

const WORKFLOW_EXTENSIONS = /\.[cm]?[jt]s$/;

/** `--import` of the module that renders errors escaping the program (built or source). */
function programErrorsImport(typeScript: boolean): string[] {
  for (const name of ['program-errors.js', ...(typeScript ? ['program-errors.ts'] : [])]) {
    const path = join(PACKAGE_CODE_DIR, name);
    if (existsSync(path)) return ['--import', pathToFileURL(path).href];
  }
  return [];
}

/** What {@link runWorkflowFile} runs. */
export interface RunWorkflowFileOptions {
  /** The workflow file (`.ts`, `.mts`, `.cts` compiled once with esbuild; `.js`, `.mjs`, `.cjs` as is). */
  workflow: string;
  /** The program's arguments: the job store locator and options. */
  args: string[];
  /** Extra environment for the program. */
  env?: NodeJS.ProcessEnv;
  /**
   * Extra environment that makes `@toil/*` imports the workflow cannot resolve from its own
   * directory fall back to another installation (`toil run` preloads its resolve hook with
   * it). Given to the program only when the workflow has such imports, so a workflow that
   * resolves them itself starts without the hook (see {@link needsToilFallback}).
   */
  toilFallbackEnv?: NodeJS.ProcessEnv;
  /**
   * Runs the program in this process instead of a child `node` (one Node start-up less, and
   * the first worker starts before the workflow module loads): `process.argv`, the
   * environment, the exit code and the signal handlers become the program's, and errors that
   * escape it are shown and end this process. Only for a process that exists to run the
   * workflow (`toil run`). A workflow that needs `toilFallbackEnv` still runs as a child.
   */
  inProcess?: boolean;
}

const TOIL_SPECIFIER = /['"`](@toil\/[^'"`\s]+)['"`]/g;

/**
 * Whether the batch system `--batchSystem NAME` names is found without the fallback: the
 * built-in one, or the package `@toil/batch-NAME` resolved as the engine resolves it (from the
 * workflow file, else from the engine the workflow imports; `findBatchSystem`).
 */
function batchSystemResolves(file: string, args: string[]): boolean {
  const name = otherBatchSystem(args);
  if (name === undefined) return true;
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) return false;
  const plugin = `@toil/batch-${name}`;
  try {
    createRequire(file).resolve(plugin);
    return true;
  } catch {
    // not next to the workflow: next to its engine?
  }
  try {
    createRequire(createRequire(file).resolve('@toil/workflow')).resolve(plugin);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the workflow imports `@toil/*` packages that do not resolve from its own directory.
 * Compiled TypeScript: the imports esbuild left bare. JavaScript (run as is): `@toil/workflow`
 * and every `@toil/...` string in the file must resolve from there; anything unsure counts as
 * unresolved. A batch system other than the built-in one is a package found by name at run
 * time: it needs the fallback when it resolves neither from the workflow nor from its engine
 * (the CLI's copy is found only through the fallback). @internal
 */
export function needsToilFallback(file: string, code: CompiledWorkflow, args: string[]): boolean {
  if (!batchSystemResolves(file, args)) return true;
  if (code.compiled) return code.bareToil === undefined || code.bareToil.length > 0;
  const wanted = new Set(['@toil/workflow']);
  for (const match of readFileSync(file, 'utf8').matchAll(TOIL_SPECIFIER)) wanted.add(match[1]!);
  const require = createRequire(file);
  for (const specifier of wanted) {
    try {
      require.resolve(specifier);
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * Runs a workflow file as its own program (what `toil run` does): `node FILE ARGS...`, a
 * TypeScript file compiled first (see {@link compileWorkflow}),
 * with this process's stdio, forwarding SIGINT and SIGTERM. Resolves to its exit status.
 * With `inProcess`, the program runs in this process instead (see
 * {@link RunWorkflowFileOptions.inProcess}).
 * Throws `INVALID_ARGUMENT` when the file does not exist, and `WORKFLOW_INVALID` when the
 * program exited 0 without parsing workflow options or creating a `Toil` (the file never
 * starts a workflow: nothing was stored).
 */
export async function runWorkflowFile(options: RunWorkflowFileOptions): Promise<number> {
  const file = resolve(options.workflow);
  const hint = 'Give the path of a workflow file (.ts or .js) that calls Job.Runner.main.';
  if (!existsSync(file)) {
    throw new ToilError(
      'INVALID_ARGUMENT',
      `The workflow file ${options.workflow} does not exist.`,
      { hint },
    );
  }
  if (statSync(file).isDirectory()) {
    throw new ToilError(
      'INVALID_ARGUMENT',
      `The workflow ${options.workflow} is a directory, not a workflow file.`,
      { hint },
    );
  }
  if (!WORKFLOW_EXTENSIONS.test(file)) {
    throw new ToilError(
      'INVALID_ARGUMENT',
      `The workflow ${options.workflow} is not a JavaScript or TypeScript file (.ts, .mts, .cts, .js, .mjs, .cjs).`,
      { hint },
    );
  }
  // A TypeScript workflow is compiled once (content-addressed) and run as JavaScript; workers
  // load the same file. Stack traces map back to the .ts lines through its source map.
  const code = early?.file === file ? early.code : await compileWorkflow(file);
  const fallback =
    options.toilFallbackEnv !== undefined && needsToilFallback(file, code, options.args);
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    ...(fallback ? options.toilFallbackEnv : {}),
    ...(code.compiled
      ? {
          [COMPILED_ENV.source]: code.source,
          [COMPILED_ENV.compiled]: code.compiled,
          [COMPILED_ENV.hash]: code.hash!,
        }
      : {}),
    // How the program's --help names itself.
    TOIL_RUN_WORKFLOW: options.workflow,
  };
  const markerDir = mkdtempSync(join(tmpdir(), 'toil-run-'));
  const marker = join(markerDir, 'started');
  env[STARTED_MARKER_ENV] = marker;
  const started = (): boolean => existsSync(marker);
  // In this process, a program that ends it with process.exit() gets the same check.
  const onExit = (code: number): void => {
    if (code === 0 && !started()) process.exitCode = renderError(notStarted(options.workflow));
    rmSync(markerDir, { recursive: true, force: true });
  };
  try {
    let status: number;
    // A workflow that needs the resolve hook runs as its own program, which preloads it.
    if (options.inProcess && !fallback) {
      process.once('exit', onExit);
      status = await runInProcess(file, code, options.args, env);
    } else {
      takePoolWorkerOffer()?.discard();
      await discardBatchPrestartOffer();
      status = await runChild(file, code, options.args, env);
    }
    if (status === 0 && !started()) throw notStarted(options.workflow);
    return status;
  } finally {
    process.off('exit', onExit);
    rmSync(markerDir, { recursive: true, force: true });
    // Workers a batch system started ahead for a run that never adopted them.
    await discardBatchPrestartOffer();
  }
}

function notStarted(workflow: string): ToilError {
  return new ToilError('WORKFLOW_INVALID', `${workflow} did not start a workflow.`, {
    hint: 'End the file with Job.Runner.main(import.meta.url, main), where main does `await using toil = new Toil(Job.Runner.getDefaultOptions())` and calls toil.start(rootJob) (or toil.restart() with --restart).',
  });
}

let runner: typeof import('./program-error.js') | undefined;

/** The program's error rendering (loaded once the first worker is on its way). */
async function loadRunner(): Promise<typeof import('./program-error.js')> {
  return (runner ??= await import('./program-error.js'));
}

/** Shows `error` as the program would (the runner is loaded when this can be needed). */
function renderError(error: unknown): number {
  return runner ? runner.renderProgramError(error) : 1;
}

/** `node [--enable-source-maps] FILE ARGS...` with this process's stdio; its exit status. */
async function runChild(
  file: string,
  code: CompiledWorkflow,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const argv = [
    ...programErrorsImport(false),
    ...(code.compiled ? ['--enable-source-maps', code.compiled] : [file]),
    ...args,
  ];
  // Loaded on first use: every worker loads this module (with the package's index).
  const { spawn } = process.getBuiltinModule('node:child_process');
  const child = spawn(process.execPath, argv, {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  const forward = (signal: NodeJS.Signals) => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolveExit, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (signal) resolveExit(128 + ((constants.signals as Record<string, number>)[signal] ?? 0));
        else resolveExit(code ?? 1);
      });
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/**
 * Starts the run's first pool worker now, before the workflow module loads, when the run
 * looks like one that will use it (a new single-machine run with this copy of the engine):
 * the `Toil` of the run adopts it only if its options really match, else it is killed. A
 * worker `toil run` started before it knew the module (`startEarlyPoolWorker` of `@toil/workflow/early-worker`) is told
 * the module instead, or killed when the run cannot use it.
 */
function offerFirstWorker(
  file: string,
  module: string,
  args: string[],
  beforeStart?: () => void,
): void {
  const waiting = peekPoolWorkerOffer();
  const early = waiting?.workflowModule === undefined ? waiting : undefined;
  const place = poolWorkerPlace(args);
  // Only a workflow that uses this very copy of the engine can adopt the worker.
  if (!place || !usesThisEngine(file)) {
    if (early) takePoolWorkerOffer()?.discard();
    return;
  }
  beforeStart?.();
  if (
    early?.codeDir === PACKAGE_CODE_DIR &&
    early.jobStore === place.jobStore &&
    early.workDir === place.workDir
  ) {
    early.load(module);
    return;
  }
  offerPoolWorker({ ...place, workflowModule: module });
}

/** Whether `file` imports this copy of `@toil/workflow`. */
function usesThisEngine(file: string): boolean {
  try {
    return (
      realpathSync(dirname(createRequire(file).resolve('@toil/workflow'))) === PACKAGE_CODE_DIR
    );
  } catch {
    return false;
  }
}

/** What {@link offerFirstWorkerEarly} compiled, so that the run does not look it up again. */
let early: { file: string; code: CompiledWorkflow } | undefined;

/** Whether the offered worker (if any) was started for `module` and the job store in `args`. */
function offeredFor(module: string, args: string[]): boolean {
  const offer = peekPoolWorkerOffer();
  return offer !== undefined && offer.workflowModule === module && offer.jobStore === args[0];
}

/**
 * What `toil run WORKFLOW STORE ...` does first, before it loads the rest of the CLI: starts
 * the run's first pool worker (see {@link runWorkflowFile}'s `inProcess`) as soon as the
 * compiled workflow is known, so that the worker's start-up overlaps the CLI's too. Never
 * throws: anything unusual (a file that is not a workflow, a workflow that needs the CLI's
 * resolve hook, options a worker cannot serve) starts nothing, and `runWorkflowFile` decides
 * as usual. A worker not adopted by the run is killed when this process exits. @internal
 */
export async function offerFirstWorkerEarly(workflow: string, args: string[]): Promise<void> {
  try {
    const file = resolve(workflow);
    if (!WORKFLOW_EXTENSIONS.test(file) || !statSync(file, { throwIfNoEntry: false })?.isFile())
      return;
    const code = await compileWorkflow(file);
    early = { file, code };
    if (needsToilFallback(file, code, args)) return;
    if (otherBatchSystem(args) !== undefined && usesThisEngine(file)) {
      // Another batch system: it may start its workers now (Slurm's warm workers).
      const { prestartBatchSystemEarly } = await import('./toil.js');
      const { source, compiled, hash } = code;
      await prestartBatchSystemEarly(args, { source, compiled, hash });
    }
    offerFirstWorker(file, code.compiled ?? file, args, () => {
      // The environment the program's workers get once it runs in this process.
      if (code.compiled) {
        process.env[COMPILED_ENV.source] = code.source;
        process.env[COMPILED_ENV.compiled] = code.compiled;
        process.env[COMPILED_ENV.hash] = code.hash!;
      }
      process.env.TOIL_RUN_WORKFLOW = workflow;
    });
  } catch {
    // runWorkflowFile reports what is wrong.
  } finally {
    // A worker started before the module was known, and not told it now, is of no use.
    if (peekPoolWorkerOffer()?.workflowModule === undefined) takePoolWorkerOffer()?.discard();
  }
}

/**
 * The program in this process: `process.argv` becomes `[node, FILE, ...args]`, `env` is added
 * to `process.env`, errors escaping the program are shown as one line (as `--import
 * program-errors.js` does for a child), and a compiled module is loaded with source maps on.
 * Resolves, once nothing is left to run (as a process would exit), to `process.exitCode`.
 */
async function runInProcess(
  file: string,
  code: CompiledWorkflow,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const module = code.compiled ?? file;
  const { [STARTED_MARKER_ENV]: marker, ...inherited } = env;
  Object.assign(process.env, inherited);
  process.argv = [process.argv[0]!, module, ...args];
  // Workers do not see the marker, as in a child program (which takes it out of its env).
  // A worker offered earlier for this very run (see offerFirstWorkerEarly) is kept.
  if (!offeredFor(module, args)) offerFirstWorker(file, module, args);
  process.env[STARTED_MARKER_ENV] = marker;
  // The engine loads while the worker starts.
  const { installProgramErrorHandlers, renderProgramError } = await loadRunner();
  installProgramErrorHandlers();
  const ended = new Promise<number>((resolveExit) => {
    process.once('beforeExit', () => {
      const status = process.exitCode;
      resolveExit(typeof status === 'number' ? status : Number(status ?? 0) || 0);
    });
  });
  if (code.compiled) {
    // The engine's own modules, loaded before source maps are on, skip parsing their maps.
    await import('./index.js');
    process.setSourceMapsEnabled(true);
  }
  try {
    await import(pathToFileURL(module).href);
  } catch (error) {
    // Thrown while the module loaded: what the child's uncaughtException handler shows.
    return renderProgramError(error);
  }
  return ended;
}
