import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkflowCode } from '@toil/batch-system';
import { PACKAGE_CODE_DIR } from './here.js';

const TYPESCRIPT = /\.(ts|mts|cts|tsx)$/;

/**
 * Absolute path of the worker entry (`dist/worker.js` of this package). When the package runs
 * from its sources (tests), the TypeScript entry next to this file.
 */
export function workerEntryPath(): string {
  const built = join(PACKAGE_CODE_DIR, 'worker.js');
  if (existsSync(built)) return built;
  const source = join(PACKAGE_CODE_DIR, 'worker.ts');
  if (existsSync(source)) return source;
  return built;
}

/** `--import <tsx loader>` for TypeScript modules, resolved from this package. */
export function tsxLoaderArgs(): string[] {
  const require = createRequire(join(PACKAGE_CODE_DIR, 'noop.js'));
  return ['--import', pathToFileURL(require.resolve('tsx')).href];
}

/** True when `path` is TypeScript. */
export function isTypeScript(path: string): boolean {
  return TYPESCRIPT.test(path);
}

/** The module a worker imports for `code`: its compiled JavaScript when there is some. */
export function moduleOf(code: WorkflowCode): string {
  return code.compiled && existsSync(code.compiled) ? code.compiled : code.source;
}

/** Node arguments needed to load `module` and the worker entry. */
function loaderArgsFor(module: string): string[] {
  return isTypeScript(module) || isTypeScript(workerEntryPath()) ? tsxLoaderArgs() : [];
}

/**
 * How this machine starts a toil-ts worker: this Node binary and the worker entry of this
 * package (`BatchSystemContext.workerCommand`). A batch system appends `workerArguments`
 * of `@toil/batch-system` for one attempt; the worker loads the workflow's JavaScript (and
 * compiles TypeScript itself only where no compiled copy is found).
 */
export function workerCommand(): string[] {
  return [process.execPath, ...loaderArgsFor(''), workerEntryPath()];
}

/** The command of a warm worker that runs many jobs sent over IPC. @internal */
export function poolWorkerArgv(options: {
  /** Absent for a worker started ahead of its workflow: the `open` message names the store. */
  jobStoreLocator?: string;
  /** Absent for a worker started before the module was known: the `load` message names it. */
  workflowModule?: string;
  workerDir: string;
  /** Started before the store exists: loads its code, then waits for an `open` message. */
  prestarted?: boolean;
}): string[] {
  return [
    process.execPath,
    ...loaderArgsFor(options.workflowModule ?? ''),
    workerEntryPath(),
    'pool',
    ...(options.jobStoreLocator === undefined ? [] : ['--jobStore', options.jobStoreLocator]),
    ...(options.workflowModule === undefined ? [] : ['--module', options.workflowModule]),
    '--workerDir',
    options.workerDir,
    ...(options.prestarted ? ['--prestarted', '1'] : []),
  ];
}
