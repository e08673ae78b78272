import { UsageError } from '@toil/core';
import { defineCommand, reportText } from '../command.js';
import { jobStorePositional } from './job-store-options.js';

export default defineCommand({
  usage: 'kill <jobStore>',
  describe:
    'Kills rogue toil processes: stops the workflow whose leader runs on this machine and waits until it and its workers are gone; sets the kill flag for a leader elsewhere.',
  positionals: jobStorePositional,
  options: {
    force: {
      type: 'boolean',
      default: false,
      describe:
        'Send SIGKILL instead of SIGTERM (to the leader and its workers) when the leader is local.',
    },
    timeout: {
      type: 'number',
      default: 30,
      describe: 'Seconds to wait for the leader and its workers to exit.',
    },
  },
  async run(args, context) {
    if (!Number.isFinite(args.timeout) || args.timeout <= 0) {
      throw new UsageError(`Invalid --timeout '${args.timeout}'.`, {
        hint: 'Give a positive number of seconds.',
      });
    }
    const { killWorkflow } = await import('@toil/stats');
    const result = await killWorkflow(args.jobStore, {
      host: context.host,
      force: args.force,
      timeoutMs: args.timeout * 1000,
    });
    context.out(reportText(context.json, result, () => result.message + '\n'));
    return 0;
  },
});
