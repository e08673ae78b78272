import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_CODE_DIR } from './here.js';
import { ToilError } from '@toil/core';
import type { BatchSystem, BatchSystemContext, BatchSystemFactory } from './batch-system.js';

const REGISTRY_KEY = Symbol.for('@toil/workflow/batch-systems');

function factories(): Map<string, BatchSystemFactory> {
  const global = globalThis as unknown as Record<
    symbol,
    Map<string, BatchSystemFactory> | undefined
  >;
  return (global[REGISTRY_KEY] ??= new Map());
}

/** Names that mean the built-in single-machine batch system. */
export const SINGLE_MACHINE_NAMES = ['single_machine', 'singleMachine', 'single-machine'];

/**
 * Makes `--batchSystem NAME` use `factory`. `@toil/batch-slurm` needs no registration: it is
 * imported when `--batchSystem slurm` is given.
 */
export function registerBatchSystem(name: string, factory: BatchSystemFactory): void {
  factories().set(name, factory);
}

/** The names `--batchSystem` accepts. */
export function batchSystemNames(): string[] {
  return ['single_machine', 'slurm', ...factories().keys()];
}

interface PackageJson {
  exports?: Record<string, unknown>;
  module?: string;
  main?: string;
}

function esmEntry(packageDir: string): string {
  const manifest = JSON.parse(
    readFileSync(join(packageDir, 'package.json'), 'utf8'),
  ) as PackageJson;
  const root = manifest.exports?.['.'] as Record<string, unknown> | string | undefined;
  const importEntry =
    typeof root === 'string'
      ? root
      : ((root?.import as Record<string, string> | undefined)?.default ??
        (root?.default as string | undefined));
  return join(packageDir, importEntry ?? manifest.module ?? manifest.main ?? 'index.js');
}

async function importSlurm(workflowModule: string): Promise<Record<string, unknown>> {
  // Next to the workflow first (users install it there), then from this package.
  for (const base of [workflowModule, join(PACKAGE_CODE_DIR, 'noop.js')]) {
    try {
      const manifest = createRequire(base).resolve('@toil/batch-slurm/package.json');
      return (await import(pathToFileURL(esmEntry(dirname(manifest))).href)) as Record<
        string,
        unknown
      >;
    } catch {
      // try the next place
    }
  }
  // A computed specifier keeps the bundler from inlining the package.
  const specifier = ['@toil', 'batch-slurm'].join('/');
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new ToilError(
      'BATCH_SYSTEM_UNAVAILABLE',
      'The slurm batch system needs @toil/batch-slurm, which is not installed.',
      {
        hint: 'Install @toil/batch-slurm next to your workflow (npm install @toil/batch-slurm).',
        cause: error,
      },
    );
  }
}

/**
 * Finds the factory of the batch system named by `--batchSystem` (other than single machine,
 * which the leader builds itself), importing `@toil/batch-slurm` for `slurm`. Called before a
 * job store is created or changed, so a bad name leaves nothing behind. Throws
 * `INVALID_ARGUMENT` for an unknown name and `BATCH_SYSTEM_UNAVAILABLE` when its package is
 * missing.
 */
export async function resolveBatchSystemFactory(
  name: string,
  workflowModule: string,
): Promise<BatchSystemFactory> {
  const registered = factories().get(name);
  if (registered) return registered;
  if (name === 'slurm') {
    const slurm = await importSlurm(workflowModule);
    const create = slurm.createBatchSystem as BatchSystemFactory | undefined;
    if (typeof create !== 'function') {
      throw new ToilError(
        'BATCH_SYSTEM_UNAVAILABLE',
        '@toil/batch-slurm does not export createBatchSystem.',
        {
          hint: 'Install a version of @toil/batch-slurm that matches @toil/workflow.',
        },
      );
    }
    return create;
  }
  throw new ToilError('INVALID_ARGUMENT', `Unknown batch system '${name}'.`, {
    hint: `Choose one of: ${batchSystemNames().join(', ')}.`,
  });
}

/** Makes the batch system named by `--batchSystem` for a run; see {@link resolveBatchSystemFactory}. */
export async function createNamedBatchSystem(
  name: string,
  context: BatchSystemContext,
): Promise<BatchSystem> {
  return (await resolveBatchSystemFactory(name, context.workflowModule))(context);
}
