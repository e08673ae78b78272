/**
 * @toil/report: `toil report` as library functions. {@link buildReport} reads a job store
 * into the data behind the report ({@link ReportData}, schema `toil-ts/report`), and
 * {@link renderReportHtml} draws it as one self-contained HTML file.
 *
 * @packageDocumentation
 */
export { buildReport } from './build.js';
export type { BuildReportOptions } from './build.js';
export { DETAIL_LIMIT, ReportCollector } from './collect.js';
export type { Collected, RunContext } from './collect.js';
export { renderReportHtml } from './html.js';
export { REPORT_VERSION } from './model.js';
export type {
  FailedJob,
  JobGraph,
  JobGroup,
  ReportData,
  RunAttempt,
  RunResult,
  RunSummary,
  Timeline,
  TimelineAttempt,
} from './model.js';
