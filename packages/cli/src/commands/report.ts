import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ToilError } from '@toil/core';
import { defineCommand } from '../command.js';
import { jobStorePositional } from './job-store-options.js';

function writeReport(path: string, html: string): void {
  const target = resolve(path);
  // Written beside the target and renamed, so an interrupted run never leaves half a file.
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, html);
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ToilError('INVALID_ARGUMENT', `Cannot write the report to ${path}: ${code}.`, {
      hint: 'Give --output a path in a directory that exists and that you can write to.',
    });
  }
}

export default defineCommand({
  usage: 'report <jobStore>',
  describe:
    'Writes one self-contained HTML file about a workflow run: summary, resource tables, a timeline of every job attempt, the job graph by job name and the logs of failed jobs (run the workflow with --stats).',
  positionals: jobStorePositional,
  options: {
    output: {
      type: 'string',
      alias: 'o',
      describe: 'Where to write the HTML file (default report.html; with --json only when given).',
    },
  },
  examples: [
    ['toil report file:my-jobstore', 'Writes report.html; open it in a browser (works offline).'],
    ['toil report file:my-jobstore -o run1.html', 'Writes run1.html.'],
    [
      'toil report file:my-jobstore --json',
      'The data behind it (schema toil-ts/report) on stdout.',
    ],
  ],
  async run(args, context) {
    // Loaded here, not at the top: `toil report --help` must not pay for the library.
    const { buildReport, renderReportHtml } = await import('@toil/report');
    const data = await buildReport(args.jobStore, { host: context.host });
    const path = args.output ?? (context.json ? undefined : 'report.html');
    const html = path === undefined ? '' : renderReportHtml(data);
    if (path !== undefined) writeReport(path, html);
    if (context.json) {
      context.out(JSON.stringify(data, null, 2) + '\n');
    } else {
      const size = Buffer.byteLength(html);
      context.out(
        `Wrote the report of ${data.jobStore} to ${path} (${Math.ceil(size / 1024)} KB): open it in a browser.\n`,
      );
    }
    return 0;
  },
});
