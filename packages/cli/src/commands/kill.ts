import { unavailableCommand } from './unavailable.js';

export default unavailableCommand({
  usage: 'kill <jobStore>',
  describe: 'Kills rogue toil processes.',
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
