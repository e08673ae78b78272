import { UsageError } from './errors.js';
import { LOG_LEVEL_RANK, type LogLevel, type ToilEvent } from './host.js';
import { redact } from './redact.js';

/** Every log level, most severe first (Toil's order). */
export const LOG_LEVELS: readonly LogLevel[] = ['critical', 'error', 'warning', 'info', 'debug'];

/** The one-letter tag of each level in a Toil-style log line (`[I]`, `[W]`...). */
export const LOG_LEVEL_LETTER: Readonly<Record<LogLevel, string>> = {
  critical: 'C',
  error: 'E',
  warning: 'W',
  info: 'I',
  debug: 'D',
};

/** True when an event at `level` is shown by a host whose threshold is `threshold`. */
export function isLevelShown(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVEL_RANK[level] <= LOG_LEVEL_RANK[threshold];
}

/**
 * Parses a `--logLevel` value in any case (`Info`, `DEBUG`...).
 *
 * @throws UsageError when `value` names no level.
 */
export function parseLogLevel(value: string): LogLevel {
  const level = String(value).toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`Invalid --logLevel '${value}'.`, {
      hint: 'Choose one of: Critical, Error, Warning, Info, Debug.',
    });
  }
  return level as LogLevel;
}

/**
 * Toil's logging options, as option specs in yargs' form (plain data: any parser or help
 * printer can read them): `--logLevel LEVEL`, `--logCritical`, `--logError`, `--logWarning`,
 * `--logInfo`, `--logDebug`, `--logOff` and `--logFile FILE`. {@link resolveLogLevel} turns
 * what they parse to into a level.
 */
export const LOGGING_OPTIONS = {
  logLevel: {
    type: 'string',
    describe: 'Log level: Critical, Error, Warning, Info or Debug (any case).',
  },
  logCritical: { type: 'boolean', describe: 'Same as --logLevel Critical.' },
  logError: { type: 'boolean', describe: 'Same as --logLevel Error.' },
  logWarning: { type: 'boolean', describe: 'Same as --logLevel Warning.' },
  logInfo: { type: 'boolean', describe: 'Same as --logLevel Info (the default).' },
  logDebug: { type: 'boolean', describe: 'Same as --logLevel Debug.' },
  logOff: { type: 'boolean', describe: 'Same as --logLevel Critical.' },
  logFile: { type: 'string', describe: 'Also write log lines to this file.' },
} as const;

/**
 * The effective log level from Toil's logging flags (`--logLevel`, `--logDebug`,
 * `--logInfo`, `--logWarning`, `--logError`, `--logCritical`, `--logOff`): `--logDebug`
 * wins, then `--logLevel`, then the most verbose of the others; `info` when none is given.
 *
 * @throws UsageError when `--logLevel` names no level.
 */
export function resolveLogLevel(args: Record<string, unknown>): LogLevel {
  if (args.logDebug) return 'debug';
  if (typeof args.logLevel === 'string') return parseLogLevel(args.logLevel);
  if (args.logInfo) return 'info';
  if (args.logWarning) return 'warning';
  if (args.logError) return 'error';
  if (args.logCritical || args.logOff) return 'critical';
  return 'info';
}

/**
 * An event time as Toil writes it (`%Y-%m-%dT%H:%M:%S%z`), always in UTC so that logs from
 * different machines compare: `2026-01-02T03:04:05+0000`.
 */
export function formatLogTime(time: number): string {
  return `${new Date(time).toISOString().slice(0, 19)}+0000`;
}

/** Options of {@link formatLogLine}. */
export interface LogLineOptions {
  /** Dresses the level letter, e.g. in colour for a terminal; the bare letter by default. */
  styleLevel?: (letter: string, level: LogLevel) => string;
}

/**
 * One event as a Toil-style log line, without a newline:
 * `[2026-01-02T03:04:05+0000] [I] [toil.leader] message`. The message is redacted of
 * credentials and control characters; the source defaults to `toil`.
 */
export function formatLogLine(event: ToilEvent, options: LogLineOptions = {}): string {
  const letter = LOG_LEVEL_LETTER[event.level];
  const level = options.styleLevel ? options.styleLevel(letter, event.level) : letter;
  return `[${formatLogTime(event.time)}] [${level}] [${event.source ?? 'toil'}] ${redact(event.message)}`;
}
