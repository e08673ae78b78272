import { unavailableCommand } from './unavailable.js';

export default unavailableCommand({
  usage: 'run <workflow> <jobStore>',
  describe: 'Run a workflow file (TypeScript or JavaScript) against a job store.',
  positionals: {
    workflow: {
      type: 'string',
      demandOption: true,
      describe: 'The workflow file (.ts, .mts, .js, .mjs).',
    },
    jobStore: { type: 'string', demandOption: true, describe: 'The job store locator.' },
  },
  options: {},
  packageName: '@toil/workflow',
});
