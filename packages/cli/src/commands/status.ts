import { defineCommand, reportText } from '../command.js';
import { jobStorePositional } from './job-store-options.js';

export default defineCommand({
  usage: 'status <jobStore>',
  describe:
    'Tool for reporting on job status: whether the workflow completed, is running (and where), failed, was killed or lost its leader, and how many jobs are left.',
  positionals: jobStorePositional,
  options: {
    failIfNotComplete: {
      type: 'boolean',
      default: false,
      describe: 'Exit 1 unless the workflow completed successfully (jobs left, failed, killed).',
    },
    printJobs: {
      type: 'boolean',
      alias: ['perJob', 'printPerJobStats'],
      default: false,
      describe: 'One line per job left: id, name, state, tries left, children.',
    },
    printLogs: {
      type: 'boolean',
      alias: 'logs',
      default: false,
      describe: 'Print the logs that failed job attempts left.',
    },
    printChildren: {
      type: 'boolean',
      alias: 'children',
      default: false,
      describe: 'Print the successors of each job left.',
    },
    printDot: {
      type: 'boolean',
      alias: 'dot',
      default: false,
      describe: 'Print the jobs left as a Graphviz graph, one node per job, coloured by state.',
    },
    failed: {
      type: 'boolean',
      alias: 'printFailed',
      default: false,
      describe: 'Only totally failed jobs (lists them unless another --print option is given).',
    },
    jobs: {
      type: 'array',
      string: true,
      describe: 'Only these job ids.',
    },
    printStatus: {
      type: 'boolean',
      alias: 'status',
      default: false,
      describe: 'Print which jobs are running, on which batch system and under which batch id.',
    },
    noAggStats: {
      type: 'boolean',
      default: false,
      describe: 'Leave out the summary line of job counts.',
    },
  },
  examples: [
    ['toil status file:my-jobstore', 'Where the workflow stands, in one or two lines.'],
    ['toil status file:my-jobstore --failed --printLogs', 'The logs of the jobs that failed.'],
    ['toil status file:my-jobstore --printDot | dot -Tsvg > jobs.svg', 'Draw the jobs left.'],
  ],
  async run(args, context) {
    const { getStatus, renderStatusText, isComplete } = await import('@toil/stats');
    const jobIds = args.jobs?.map(String);
    const report = await getStatus(args.jobStore, {
      host: context.host,
      jobs: args.printJobs || args.printChildren || args.printStatus,
      logs: args.printLogs,
      dot: args.printDot,
      failedOnly: args.failed,
      ...(jobIds && jobIds.length > 0 ? { jobIds } : {}),
    });
    context.out(
      reportText(context.json, report, () =>
        renderStatusText(report, {
          printJobs: args.printJobs,
          printLogs: args.printLogs,
          printChildren: args.printChildren,
          printDot: args.printDot,
          failedOnly: args.failed,
          noAggStats: args.noAggStats,
          printStatus: args.printStatus,
        }),
      ),
    );
    return args.failIfNotComplete && !isComplete(report) ? 1 : 0;
  },
});
