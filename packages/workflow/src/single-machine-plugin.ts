import { defineBatchSystem, type OptionSpecs } from '@toil/batch-system';
import { openJobStore } from '@toil/jobstore';

/** The options the single-machine batch system declares (`--workerIsolation`, `--maxLocalJobs`). */
export const SINGLE_MACHINE_OPTIONS = {
  workerIsolation: {
    type: 'string',
    choices: ['pool', 'process'],
    describe: 'pool (default): warm workers run many jobs; process: a fresh process per job.',
  },
  maxLocalJobs: {
    type: 'number',
    min: 1,
    describe: 'Most jobs run at once on this machine (default: cores).',
  },
} as const satisfies OptionSpecs;

/**
 * The single-machine batch system as a plugin (`--batchSystem single_machine`, the default).
 * The leader builds it directly on its open store; `create` (scripts, the contract suite)
 * opens the store itself.
 */
export const singleMachine = defineBatchSystem({
  name: 'single_machine',
  aliases: ['singleMachine', 'single-machine'],
  describe: 'Runs jobs on this machine in warm worker processes (the default).',
  options: SINGLE_MACHINE_OPTIONS,
  async create(context) {
    // Loaded here: the plugin is found while options are parsed, the workers' code only runs.
    const { SingleMachineBatchSystem, singleMachineSettings } = await import('./single-machine.js');
    const store = await openJobStore(context.jobStoreLocator, { host: context.host });
    const config = await store.resume();
    return new SingleMachineBatchSystem(context, {
      ...singleMachineSettings(context, config, store),
      ownsStore: true,
    });
  },
});
