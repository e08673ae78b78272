/**
 * @toil/workflow: write and run workflows.
 *
 * @packageDocumentation
 */
export type * from './batch-system.js';
