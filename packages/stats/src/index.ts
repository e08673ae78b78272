/**
 * @toil/stats: `toil stats`, `toil status`, `toil clean` and `toil kill` as library functions.
 * Each reads (or, for clean and kill, changes) a job store through `@toil/jobstore`, reports
 * through an injected `IoHost`, and returns a typed result that the CLI renders.
 *
 * @packageDocumentation
 */
export {
  SORT_CATEGORIES,
  SORT_FIELDS,
  STAT_CATEGORIES,
  STATS_REPORT_VERSION,
  StatsCollector,
  collateStats,
  sortElements,
} from './collate.js';
export type {
  AttemptTotals,
  CategoryStats,
  PerWorkerCounts,
  SortCategory,
  SortField,
  SortOptions,
  StatCategory,
  StatsElement,
  StatsReport,
} from './collate.js';
export {
  formatCount,
  formatDuration,
  formatKiB,
  formatMemoryPretty,
  noStatsMessage,
  renderStatsText,
} from './render-stats.js';
export type { StatsTextOptions } from './render-stats.js';
export { gatherStats, parseCategories, parseSortCategory, parseSortField } from './stats.js';
export type { GatherStatsOptions } from './stats.js';
export {
  STATUS_REPORT_VERSION,
  getStatus,
  isComplete,
  jobString,
  renderDot,
  renderStatusText,
  summaryLine,
} from './status.js';
export type {
  JobCounts,
  JobLine,
  JobLog,
  StatusOptions,
  StatusReport,
  StatusTextOptions,
  WorkflowState,
} from './status.js';
export { cleanJobStore } from './clean.js';
export type { CleanOptions, CleanResult } from './clean.js';
export { killWorkflow } from './kill.js';
export type { KillOptions, KillResult } from './kill.js';
export {
  classifyLeader,
  currentOutcome,
  epochMillis,
  isRecordedProcessAlive,
  isRunning,
  isoTime,
  parentPid,
} from './leader.js';
export type { EpochMillis, EpochSeconds, LeaderLiveness } from './leader.js';
export { openStore, storeNotFound } from './open.js';
export type { UtilityOptions } from './open.js';
