import { unavailableCommand } from './unavailable.js';

export default unavailableCommand({
  usage: 'status <jobStore>',
  describe: 'Tool for reporting on job status.',
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
