/**
 * `@toil/workflow/run-workflow`: {@link runWorkflowFile}, what `toil run` calls, as its own
 * entry point so that the CLI starts a workflow without loading the engine.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { constants, tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ToilError } from '@toil/core';
import { PACKAGE_CODE_DIR } from './here.js';
import { STARTED_MARKER_ENV } from './started-marker.js';
import { COMPILED_ENV, compileWorkflow, type CompiledWorkflow } from './compile.js';

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
}

const TOIL_SPECIFIER = /['"`](@toil\/[^'"`\s]+)['"`]/g;

/**
 * Whether the workflow imports `@toil/*` packages that do not resolve from its own directory.
 * Compiled TypeScript: the imports esbuild left bare. JavaScript (run as is): `@toil/workflow`
 * and every `@toil/...` string in the file must resolve from there; anything unsure counts as
 * unresolved. A batch system other than the built-in one is a package found by name at run
 * time (possibly the CLI's copy), so `--batchSystem NAME` keeps the fallback. @internal
 */
export function needsToilFallback(file: string, code: CompiledWorkflow, args: string[]): boolean {
  const batchSystem = args.findIndex((arg) => /^--batchSystem(=|$)/.test(arg));
  if (batchSystem >= 0) {
    const arg = args[batchSystem]!;
    const name = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[batchSystem + 1];
    if (name !== 'single_machine') return true;
  }
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
  const code = await compileWorkflow(file);
  const compiledEnv = code.compiled
    ? {
        [COMPILED_ENV.source]: code.source,
        [COMPILED_ENV.compiled]: code.compiled,
        [COMPILED_ENV.hash]: code.hash!,
      }
    : {};
  const argv = [
    ...programErrorsImport(false),
    ...(code.compiled ? ['--enable-source-maps', code.compiled] : [file]),
    ...options.args,
  ];
  const markerDir = mkdtempSync(join(tmpdir(), 'toil-run-'));
  const marker = join(markerDir, 'started');
  const child = spawn(process.execPath, argv, {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...options.env,
      ...(options.toilFallbackEnv && needsToilFallback(file, code, options.args)
        ? options.toilFallbackEnv
        : {}),
      ...compiledEnv,
      [STARTED_MARKER_ENV]: marker,
      // How the program's --help names itself.
      TOIL_RUN_WORKFLOW: options.workflow,
    },
  });
  const forward = (signal: NodeJS.Signals) => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const status = await new Promise<number>((resolveExit, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (signal) resolveExit(128 + ((constants.signals as Record<string, number>)[signal] ?? 0));
        else resolveExit(code ?? 1);
      });
    });
    if (status === 0 && !existsSync(marker)) {
      throw new ToilError('WORKFLOW_INVALID', `${options.workflow} did not start a workflow.`, {
        hint: 'End the file with Job.Runner.main(import.meta.url, main), where main does `await using toil = new Toil(Job.Runner.getDefaultOptions())` and calls toil.start(rootJob) (or toil.restart() with --restart).',
      });
    }
    return status;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    rmSync(markerDir, { recursive: true, force: true });
  }
}
