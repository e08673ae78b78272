/**
 * @toil/core: the pieces every other @toil package shares.
 *
 * - {@link ToilError}: the one error class, with stable codes and hints.
 * - {@link IoHost}: the event sink libraries report through instead of printing.
 * - {@link formatLogLine} / {@link resolveLogLevel}: Toil-style log lines and logging flags.
 * - {@link parseSize} / {@link parseDuration}: human sizes and durations.
 * - {@link limitConcurrency} / {@link forEachLimit} / {@link mapLimit}: the one concurrency limiter.
 *
 * @packageDocumentation
 */
export {
  ToilError,
  UsageError,
  USAGE_ERROR_CODES,
  isUsageError,
  registerUsageErrorCodes,
  toToilError,
} from './errors.js';
export type { ToilErrorCode, ToilErrorCodeRegistry, ToilErrorOptions } from './errors.js';
export { redact } from './redact.js';
export { AWS_SDK_NODE_NOTICE_ENV, routeAwsSdkNodeNotice } from './aws-sdk-notice.js';
export { forEachLimit, limitConcurrency, mapLimit } from './limit.js';
export type { Limiter } from './limit.js';
export { LOG_LEVEL_RANK, RecordingHost, report, silentHost, startSpan } from './host.js';
export type { ConfirmRequest, IoHost, LogLevel, Span, ToilEvent } from './host.js';
export {
  LOGGING_OPTIONS,
  LOG_LEVEL_LETTER,
  LOG_LEVELS,
  formatLogLine,
  formatLogTime,
  isLevelShown,
  parseLogLevel,
  resolveLogLevel,
} from './log-format.js';
export type { LogLineOptions } from './log-format.js';
export { formatSize, parseDuration, parseSize } from './units.js';
export type { Resources } from './units.js';
export {
  PROC_TICKS_PER_SECOND,
  isProcessAlive,
  isProcessRunning,
  isRecordedProcessAlive,
  localNodeId,
  parentPid,
  parseProcessStat,
  processStartTime,
  processStatFields,
} from './process.js';
