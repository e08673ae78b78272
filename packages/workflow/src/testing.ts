/**
 * @toil/workflow/testing: real job attempts for `@toil/batch-system/testing`'s contract suite,
 * so that every batch system is tested with the engine's own workers.
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IssuedJob, WorkflowCode } from '@toil/batch-system';
import type { ContractJobs } from '@toil/batch-system/testing';
import { epochSecondsNow, openJobStore, type JobStore, type WorkflowConfig } from '@toil/jobstore';
import { Job } from './job.js';
import { jobDefaultsOf, materializePlan, planJobs, typeNamesFrom } from './serialize.js';
import { WORKFLOW_VERSION } from './toil.js';

const MODULE_TEXT = `// Jobs of the batch-system contract suite.
export function succeeds() {
  return 'ok';
}
export function fails() {
  throw new Error('this job fails on purpose');
}
export async function sleeps() {
  await new Promise((resolve) => setTimeout(resolve, 3600 * 1000));
}
`;

/** What {@link contractJobs} made: the jobs, their store and workflow, and a way to close. */
export interface ContractWorkflow {
  jobs: ContractJobs;
  /** The job store's locator. */
  jobStore: string;
  workflowId: string;
  /** The workflow module the workers load. */
  workflow: WorkflowCode;
  /** Closes the job store. */
  close(): Promise<void>;
}

/**
 * Makes a `file:` job store under `dir` and a JavaScript workflow module next to it whose
 * jobs succeed, throw or sleep, and returns {@link ContractJobs} that store a fresh job of
 * each kind per call. `dir` must be readable by the machines the batch system runs on.
 */
export async function contractJobs(dir: string): Promise<ContractWorkflow> {
  const modulePath = join(dir, 'contract-jobs.mjs');
  writeFileSync(modulePath, MODULE_TEXT);
  // Stand-ins with the module's export names: records name the functions by export name.
  const namespace = {
    succeeds: function succeeds(): void {},
    fails: function fails(): void {},
    sleeps: function sleeps(): void {},
  };
  const names = typeNamesFrom(namespace, modulePath);
  const store: JobStore = await openJobStore(`file:${join(dir, 'store')}`);
  const config: WorkflowConfig = {
    format: 1,
    workflowId: `contract-${process.pid}-${Date.now()}`,
    attempt: 0,
    createdAt: epochSecondsNow(),
    toilVersion: WORKFLOW_VERSION,
    workflowModule: modulePath,
    batchSystem: 'contract',
    defaultCores: 1,
    defaultMemory: 512 * 2 ** 20,
    defaultDisk: 0,
    maxCores: null,
    maxMemory: null,
    maxDisk: null,
    retryCount: 0,
    stats: false,
    clean: 'never',
    cleanWorkDir: 'always',
    workDir: dir,
  };
  await store.create(config);
  const workflow: WorkflowCode = { source: modulePath };
  const make = async (fn: () => void): Promise<IssuedJob> => {
    const job = Job.wrapFn(fn);
    const records = await materializePlan(planJobs([job], names), store, jobDefaultsOf(config), {});
    await store.commit(records.map((record) => ({ op: 'put' as const, record })));
    const record = records[0]!;
    return {
      jobId: record.id,
      name: record.displayName,
      requirements: record.requirements,
      invocation: { jobStore: store.locator, jobId: record.id, workflow },
      env: {},
    };
  };
  return {
    jobs: {
      succeeds: () => make(namespace.succeeds),
      fails: () => make(namespace.fails),
      sleeps: () => make(namespace.sleeps),
    },
    jobStore: store.locator,
    workflowId: config.workflowId,
    workflow,
    close: () => store.close(),
  };
}
