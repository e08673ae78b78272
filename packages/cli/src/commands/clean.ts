import { defineCommand, reportText } from '../command.js';
import { jobStorePositional } from './job-store-options.js';

export default defineCommand({
  usage: 'clean <jobStore>',
  describe:
    'Delete a job store used by a previous Toil workflow invocation, with everything in it. A missing store is not an error.',
  positionals: jobStorePositional,
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
    context.out(reportText(context.json, result, () => result.message + '\n'));
    return 0;
  },
});
