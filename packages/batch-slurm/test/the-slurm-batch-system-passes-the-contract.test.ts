import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { RecordingHost } from '@toil/core';
import { describeBatchSystemContract } from '@toil/batch-system/testing';
import { createBatchSystem } from '@toil/batch-slurm';
import { workerCommand } from '@toil/workflow';
import { contractJobs, type ContractWorkflow } from '@toil/workflow/testing';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';

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
    create: () =>
      createBatchSystem({
        host: new RecordingHost(),
        jobStoreLocator: setup!.jobStore,
        workflowId: setup!.workflowId,
        workflow: setup!.workflow,
        maxCores: null,
        maxMemory: null,
        maxDisk: null,
        workDir: dir,
        options: { slurmPollInterval: 0.25 },
        workerCommand: workerCommand(),
      }),
    cleanup: async () => {
      await setup?.close();
    },
  });
});
