/**
 * @toil/jobstore: the JobStore contract, locators, record schemas and the backends.
 *
 * @packageDocumentation
 */
export * from './records.js';
export type * from './contract.js';
