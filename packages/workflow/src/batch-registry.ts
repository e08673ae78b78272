import { join } from 'node:path';
import {
  knownBatchSystems,
  registerBatchSystem,
  resolveBatchSystem,
  type BatchSystemPlugin,
} from '@toil/batch-system';
import { PACKAGE_CODE_DIR } from './here.js';
import { singleMachine } from './single-machine-plugin.js';

/** Where plugin packages are looked for: next to the workflow first, then next to the engine. */
function searchPaths(workflowModule: string | undefined): string[] {
  return [...(workflowModule ? [workflowModule] : []), join(PACKAGE_CODE_DIR, 'noop.js')];
}

/**
 * The batch system `--batchSystem NAME` means, through `@toil/batch-system`'s one resolution
 * path (registered plugins, then the package `@toil/batch-NAME` next to the workflow, then
 * next to the engine). The single-machine system is registered first.
 */
export function findBatchSystem(name: string, workflowModule?: string): BatchSystemPlugin {
  registerBatchSystem(singleMachine);
  return resolveBatchSystem(name, searchPaths(workflowModule));
}

/** The names `--batchSystem` accepts here (registered plugins and installed packages). */
export function batchSystemNames(workflowModule?: string): string[] {
  registerBatchSystem(singleMachine);
  return knownBatchSystems(searchPaths(workflowModule));
}
