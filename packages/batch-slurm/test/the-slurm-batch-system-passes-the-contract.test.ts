import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { RecordingHost } from '@toil/core';
import { describeBatchSystemContract, pollUntilFinished } from '@toil/batch-system/testing';
import { createBatchSystem } from '@toil/batch-slurm';
import { workerCommand } from '@toil/workflow';
import { contractJobs, type ContractWorkflow } from '@toil/workflow/testing';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';

/** The Slurm batch system for the jobs of `setup`, polling four times a second. */
function slurmFor(setup: ContractWorkflow, dir: string) {
  return createBatchSystem({
    host: new RecordingHost(),
    jobStoreLocator: setup.jobStore,
    workflowId: setup.workflowId,
    workflow: setup.workflow,
    maxCores: null,
    maxMemory: null,
    maxDisk: null,
    workDir: dir,
    options: { slurmPollInterval: 0.25 },
    workerCommand: workerCommand(),
  });
}

describeWithSlurm('the Slurm batch system on a real single-node cluster', () => {
  let setup: ContractWorkflow | undefined;
  let dir: string;

  beforeAll(async () => {
    await acquireSlurm();
    dir = mkdtempSync(join(SLURM_OUTPUT_DIR, 'contract-'));
  }, 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  describeBatchSystemContract('slurm', {
    async jobs() {
      setup = await contractJobs(dir);
      return setup.jobs;
    },
    create: () => slurmFor(setup!, dir),
    cleanup: async () => {
      await setup?.close();
    },
  });

  it("reports the CPU time and peak memory of a real worker's attempt, which the worker measured (no accounting storage here)", async () => {
    const own = mkdtempSync(join(SLURM_OUTPUT_DIR, 'measures-'));
    const workflow = await contractJobs(own);
    const batch = await slurmFor(workflow, own);
    try {
      const job = await workflow.jobs.succeeds();
      const id = await batch.issue(job);
      const finished = (await pollUntilFinished(batch, [id])).get(id)!;
      expect(finished.exitCode).toBe(0);
      expect(finished.cpuTime).toBeGreaterThan(0);
      // A Node process: tens of MiB at least.
      expect(finished.peakMemory).toBeGreaterThan(10 * 2 ** 20);
    } finally {
      await batch.shutdown();
      await workflow.close();
    }
  }, 120_000);
});
