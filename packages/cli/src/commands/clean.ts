import { defineCommand } from '../command.js';

export default defineCommand({
  usage: 'clean <jobStore>',
  describe:
    'Delete a job store used by a previous Toil workflow invocation, with everything in it. A missing store is not an error.',
  positionals: {
    jobStore: {
      type: 'string',
      demandOption: true,
      describe: 'The job store locator (file:PATH, PATH or aws:REGION:NAME).',
    },
  },
  options: {
    force: {
      type: 'boolean',
      default: false,
      describe: "Delete even while the store's leader runs on this machine.",
    },
  },
  async run(args, context) {
    const { cleanJobStore } = await import('@toil/stats');
    const result = await cleanJobStore(args.jobStore, { host: context.host, force: args.force });
    context.out(context.json ? JSON.stringify(result, null, 2) + '\n' : result.message + '\n');
    return 0;
  },
});
