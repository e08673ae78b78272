// What the worker modes (pool, one-shot, warm) share.
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ToilError, type IoHost } from '@toil/core';
import type { WorkflowCode } from '@toil/batch-system';
import type { JobStore, WorkflowConfig } from '@toil/jobstore';
import { WorkerFileCache } from './file-cache.js';
import { isTypeScript, moduleOf } from './worker-command.js';
import { StatsBuffer, type WorkerRuntime } from './worker-runtime.js';
import type { TypeNames } from './serialize.js';

/** A worker has no terminal: warnings go to its log (stderr). @internal */
export const logHost: IoHost = {
  emit(event) {
    if (event.level === 'debug' || event.level === 'info') return;
    process.stderr.write(
      `[${new Date(event.time).toISOString()}] [${event.level}] ${event.message}\n`,
    );
  },
  async confirm(request) {
    return request.defaultAnswer;
  },
};

/**
 * The module this machine loads without compiling or the job store: the leader's compiled
 * JavaScript when this machine sees it, else a JavaScript source; undefined for a TypeScript
 * source without a compiled copy here (see {@link workflowModuleHere}). @internal
 */
export function moduleWithoutStore(code: WorkflowCode): string | undefined {
  const module = moduleOf(code);
  return module !== code.source || !isTypeScript(code.source) ? module : undefined;
}

/**
 * The module to load on this machine: the leader's compiled JavaScript when this machine sees
 * it, else the source compiled here (same content address; esbuild loads only then), else the
 * compiled copy the leader kept in the job store (a node that sees neither), else the source
 * as it is. @internal
 */
export async function workflowModuleHere(code: WorkflowCode, store: JobStore): Promise<string> {
  const module = moduleWithoutStore(code);
  if (module !== undefined) return module;
  const { compileWorkflow, fetchWorkflowCode } = await import('./compile.js');
  if (!existsSync(code.source) && code.hash) return fetchWorkflowCode(store, code);
  return moduleOf(await compileWorkflow(code.source));
}

/** An error as a worker's log shows it: a ToilError's code, message and hint, else the stack. @internal */
export function describeError(error: unknown): string {
  const toil = ToilError.is(error) ? error : undefined;
  if (toil) return `${toil.code}: ${toil.message}${toil.hint ? `\n  hint: ${toil.hint}` : ''}`;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** An error in one line, as a failed attempt's reason. @internal */
export function summaryOf(error: unknown): string {
  if (ToilError.is(error)) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Whether `--cleanWorkDir` `policy` removes a worker's directory after `ok` or a failure. @internal */
export function shouldClean(policy: string, ok: boolean): boolean {
  return policy === 'always' || (policy === 'onSuccess' && ok) || (policy === 'onError' && !ok);
}

/**
 * A fresh directory for one worker process under the workflow's directory in the work
 * directory (`toil-<workflowId>`, made if needed). @internal
 */
export function newWorkerDir(config: WorkflowConfig): string {
  const base = join(config.workDir || tmpdir(), `toil-${config.workflowId}`);
  for (;;) {
    mkdirSync(base, { recursive: true });
    try {
      return mkdtempSync(join(base, 'worker-'));
    } catch (error) {
      // The last other worker of the workflow here removed the directory meanwhile.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/**
 * Removes a directory {@link newWorkerDir} made, and the workflow's directory above it once no
 * other worker's is left in it: on a node with no leader (Slurm), the last worker of the
 * workflow there leaves nothing behind. @internal
 */
export function removeWorkerDir(workerDir: string): void {
  rmSync(workerDir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(workerDir));
  } catch {
    // Another worker's directory (or a failed job's, kept) is still there, or it is gone.
  }
}

/** What a worker process needs to run attempts in `workerDir`. @internal */
export function workerRuntime(
  store: JobStore,
  config: WorkflowConfig,
  names: TypeNames,
  workerDir: string,
): WorkerRuntime {
  return {
    store,
    config,
    names,
    workerDir,
    stats: new StatsBuffer(store, config.stats, `${process.pid}@${workerDir}`),
    fileCache: new WorkerFileCache(join(workerDir, 'file-cache')),
  };
}
