import { writeFileSync } from 'node:fs';
import { ToilError } from '@toil/core';
import { defineCommand, reportText } from '../command.js';
import { jobStorePositional } from './job-store-options.js';

export default defineCommand({
  usage: 'stats <jobStore>',
  describe:
    'Reports statistical data about a given Toil workflow: time, CPU, wait and memory per worker, for all jobs and per job name (run the workflow with --stats to record them).',
  positionals: jobStorePositional,
  options: {
    raw: {
      type: 'boolean',
      default: false,
      describe:
        'Print the collated stats as JSON (schema toil-ts/stats, version 1; same as --json).',
    },
    pretty: {
      type: 'boolean',
      alias: 'human',
      default: false,
      describe: 'Human-readable units (2.0G, 1m30s). Ignored with --raw.',
    },
    sortCategory: {
      type: 'string',
      default: 'time',
      describe: 'Sort the job tables by: time, clock, wait, memory, alpha or count.',
    },
    sortField: {
      type: 'string',
      default: 'med',
      describe: 'Sort by this statistic of the category: min, med, ave, max or total.',
    },
    sortReverse: {
      type: 'boolean',
      alias: 'reverseSort',
      default: false,
      describe: 'Sort descending instead of ascending.',
    },
    categories: {
      type: 'string',
      default: 'time,clock,wait,memory',
      describe: 'Comma-separated categories to show: time, clock, wait, memory.',
    },
    outputFile: {
      type: 'string',
      describe: 'Also write the report to this file (it is still printed).',
    },
  },
  examples: [
    ['toil stats file:my-jobstore', 'The tables of the seed page.'],
    [
      'toil stats file:my-jobstore --sortCategory memory --sortField max --sortReverse',
      'Largest peak memory first.',
    ],
    ['toil stats file:my-jobstore --raw', 'The same as JSON.'],
  ],
  async run(args, context) {
    // Loaded here, not at the top: `toil stats --help` must not pay for the library.
    const stats = await import('@toil/stats');
    const sort = {
      category: stats.parseSortCategory(args.sortCategory),
      field: stats.parseSortField(args.sortField),
      reverse: args.sortReverse,
    };
    const categories = stats.parseCategories(args.categories);
    const report = await stats.gatherStats(args.jobStore, { host: context.host, sort });
    const text = reportText(args.raw || context.json, report, () =>
      stats.renderStatsText(report, { pretty: args.pretty, categories }),
    );
    if (args.outputFile !== undefined) {
      try {
        writeFileSync(args.outputFile, text);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? String(error);
        throw new ToilError(
          'INVALID_ARGUMENT',
          `Cannot write --outputFile ${args.outputFile}: ${code}.`,
          {
            hint: 'Give a path in a directory that exists and that you can write to.',
          },
        );
      }
    }
    context.out(text);
    return 0;
  },
});
