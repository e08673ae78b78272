import { unavailableCommand } from './unavailable.js';

export default unavailableCommand({
  usage: 'stats <jobStore>',
  describe: 'Reports statistical data about a given Toil workflow.',
  positionals: {
    jobStore: {
      type: 'string',
      demandOption: true,
      describe: 'The job store locator (file:PATH, PATH or aws:REGION:NAME).',
    },
  },
  options: {},
  packageName: '@toil/stats',
});
