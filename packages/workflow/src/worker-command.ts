import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

/** True when `path` is TypeScript and needs the tsx loader. */
export function isTypeScript(path: string): boolean {
  return TYPESCRIPT.test(path);
}

/** Node arguments needed to load `workflowModule` and the worker entry. */
export function loaderArgsFor(workflowModule: string): string[] {
  return isTypeScript(workflowModule) || isTypeScript(workerEntryPath()) ? tsxLoaderArgs() : [];
}

/** What identifies one job attempt for {@link buildWorkerArgv}. */
export interface WorkerCommandOptions {
  /** Normalised job store locator. */
  jobStoreLocator: string;
  /** Absolute path of the workflow module. */
  workflowModule: string;
  /** The job to run. */
  jobId: string;
  /** Base directory for the worker's temporary directory (default: the stored `--workDir` or the system temp dir). */
  workDir?: string;
}

/**
 * The complete command that runs ONE attempt of a job on any machine that sees the job store
 * (what `IssuedJob.argv` holds, e.g. for Slurm): `node [tsx loader] <worker.js> run --jobStore
 * L --module M --jobId J`. The process loads the workflow module, runs the job, records its
 * result, stats and (on failure) log in the store, and exits 0 on success, 1 on failure.
 */
export function buildWorkerArgv(options: WorkerCommandOptions): string[] {
  return [
    process.execPath,
    ...loaderArgsFor(options.workflowModule),
    workerEntryPath(),
    'run',
    '--jobStore',
    options.jobStoreLocator,
    '--module',
    options.workflowModule,
    '--jobId',
    options.jobId,
    ...(options.workDir ? ['--workDir', options.workDir] : []),
  ];
}

/** The command of a warm worker that runs many jobs sent over IPC. @internal */
export function poolWorkerArgv(options: {
  jobStoreLocator: string;
  workflowModule: string;
  workerDir: string;
}): string[] {
  return [
    process.execPath,
    ...loaderArgsFor(options.workflowModule),
    workerEntryPath(),
    'pool',
    '--jobStore',
    options.jobStoreLocator,
    '--module',
    options.workflowModule,
    '--workerDir',
    options.workerDir,
  ];
}
