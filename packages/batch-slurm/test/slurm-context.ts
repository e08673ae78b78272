import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { RecordingHost } from '@toil/core';
import type { BatchSystem, BatchSystemContext, FinishedJob } from '@toil/batch-system';
import type { SlurmSubmission } from '@toil/batch-slurm';
import { SLURM_OUTPUT_DIR } from '../../../tooling/test-env/slurm.js';

/**
 * A batch-system context for tests: a recording host and a work directory on the node (by
 * default one under the test Slurm's output directory).
 */
export function slurmContext(
  options: Record<string, unknown> = {},
  workDir: string = mkdtempSync(join(SLURM_OUTPUT_DIR, 'work-')),
): BatchSystemContext & { host: RecordingHost } {
  return {
    host: new RecordingHost(),
    jobStoreLocator: 'file:/nonexistent/test-store',
    workflowId: '',
    workflow: { source: '/nonexistent/workflow.js' },
    workerCommand: ['/nonexistent/worker'],
    maxCores: null,
    maxMemory: null,
    maxDisk: null,
    workDir,
    options,
  };
}

let counter = 0;

/** A Slurm job that runs `argv` with modest requirements. */
export function commandJob(
  argv: string[],
  overrides: Partial<SlurmSubmission> = {},
): SlurmSubmission {
  counter++;
  return {
    jobId: `job-${counter}`,
    name: `TestJob${counter}`,
    requirements: { cores: 1, memory: 128 * 2 ** 20, disk: 0, preemptible: false },
    argv,
    env: {},
    ...overrides,
  };
}

/** Node running a snippet: `node -e CODE ...args`. */
export function nodeJob(
  code: string,
  args: string[] = [],
  overrides: Partial<SlurmSubmission> = {},
): SlurmSubmission {
  return commandJob([process.execPath, '-e', code, ...args], overrides);
}

/** Polls until every id has been reported finished (each `poll` waits up to a second). */
export async function waitForAll(
  batch: BatchSystem,
  ids: string[],
  limitMs = 120_000,
): Promise<Map<string, FinishedJob>> {
  const done = new Map<string, FinishedJob>();
  const deadline = Date.now() + limitMs;
  while (ids.some((id) => !done.has(id))) {
    if (Date.now() > deadline)
      throw new Error(
        `jobs ${ids.filter((id) => !done.has(id)).join(',')} did not finish; running: ${batch.running().join(',')}`,
      );
    for (const finished of await batch.poll(1000)) done.set(finished.batchId, finished);
  }
  return done;
}
