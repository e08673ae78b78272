import { RecordingHost } from '@toil/core';
import { describeBatchSystemContract } from '@toil/batch-system/testing';
import { singleMachine, workerCommand } from '@toil/workflow';
import { contractJobs, type ContractWorkflow } from '@toil/workflow/testing';
import { scratch } from './helpers.js';

let setup: ContractWorkflow | undefined;
const dir = scratch();

describeBatchSystemContract('the single-machine batch system', {
  async jobs() {
    setup = await contractJobs(dir);
    return setup.jobs;
  },
  create: () =>
    singleMachine.create({
      host: new RecordingHost(),
      jobStoreLocator: setup!.jobStore,
      workflowId: setup!.workflowId,
      workflow: setup!.workflow,
      maxCores: 2,
      maxMemory: null,
      maxDisk: null,
      workDir: dir,
      options: { maxLocalJobs: 2 },
      workerCommand: workerCommand(),
    }),
  cleanup: async () => {
    await setup?.close();
  },
});
