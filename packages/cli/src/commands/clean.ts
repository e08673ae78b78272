import { unavailableCommand } from './unavailable.js';

export default unavailableCommand({
  usage: 'clean <jobStore>',
  describe: 'Delete a job store used by a previous Toil workflow invocation.',
  positionals: {
    jobStore: {
      type: 'string',
      demandOption: true,
      describe: 'The job store locator (file:PATH, PATH or aws:REGION:NAME).',
    },
  },
  options: {},
  packageName: '@toil/stats (job-store utilities)',
});
