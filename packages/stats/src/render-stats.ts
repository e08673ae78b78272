import {
  SORT_FIELDS,
  STAT_CATEGORIES,
  type StatCategory,
  type StatsElement,
  type StatsReport,
} from './collate.js';

/** How to print a {@link StatsReport} as text. */
export interface StatsTextOptions {
  /** Human units (`2.0G`, `1m30s`) instead of seconds with two decimals and KiB. */
  pretty?: boolean;
  /** Which categories to show, in this order (default: time, clock, wait, memory). */
  categories?: readonly StatCategory[];
}

const TITLES: Record<StatCategory, string> = {
  time: 'Time',
  clock: 'Clock',
  wait: 'Wait',
  memory: 'Memory',
};

/** A number as C's `%g` prints small counts: integers plainly, others to six digits. */
export function formatCount(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

function fixed2(value: number): string {
  const text = value.toFixed(2);
  // A tiny negative wait would print as "-0.00"; zero is zero.
  return text === '-0.00' ? '0.00' : text;
}

/**
 * Seconds in human units: `0.14s` and `42.0s` under two minutes, then `1m30s`, `2h5m0s`,
 * `1day2h0m0s`, `1week3days0h0m0s`.
 */
export function formatDuration(seconds: number): string {
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  if (seconds < 120) return `${seconds < 10 ? fixed2(seconds) : seconds.toFixed(1)}s`;
  let rest = Math.floor(seconds);
  const s = rest % 60;
  rest = Math.floor(rest / 60);
  const m = rest % 60;
  rest = Math.floor(rest / 60);
  if (seconds < 7200) return `${rest * 60 + m}m${s}s`;
  const h = rest % 24;
  rest = Math.floor(rest / 24);
  if (seconds < 25 * 3600) return `${rest * 24 + h}h${m}m${s}s`;
  const d = rest % 7;
  const w = Math.floor(rest / 7);
  const days = `${d}day${d === 1 ? '' : 's'}`;
  if (seconds < 7 * 86400) return `${days}${h}h${m}m${s}s`;
  return `${w}week${w === 1 ? '' : 's'}${days}${h}h${m}m${s}s`;
}

/** Bytes in KiB as Toil prints memory: `127952K`. */
export function formatKiB(bytes: number): string {
  return `${Math.floor(bytes / 1024)}K`;
}

/** Bytes in human units from KiB up, as Toil's `--pretty`: `76K`, `124.4M`, `2.0G`. */
export function formatMemoryPretty(bytes: number): string {
  let value = bytes / 1024;
  if (value < 1024) return `${formatCount(Math.round(value * 10) / 10)}K`;
  for (const unit of ['M', 'G', 'T', 'P']) {
    value /= 1024;
    if (value < 1024 || unit === 'P') return `${value.toFixed(1)}${unit}`;
  }
  return `${value.toFixed(1)}P`;
}

function formatValue(category: StatCategory, value: number, pretty: boolean): string {
  if (category === 'memory') return pretty ? formatMemoryPretty(value) : formatKiB(value);
  return pretty ? formatDuration(value) : fixed2(value);
}

type Widths = Record<StatCategory, number[]>;

function computeWidths(
  elements: StatsElement[],
  categories: readonly StatCategory[],
  pretty: boolean,
): Widths {
  const widths = {} as Widths;
  for (const category of categories) {
    // Every column starts at Toil's 8 and grows to one more than its widest value, so a value
    // always has a space before it and columns never run into each other.
    widths[category] = SORT_FIELDS.map((field) => {
      let width = 8;
      for (const element of elements) {
        const text = formatValue(category, element[category][field], pretty);
        if (text.length >= width) width = text.length + 1;
      }
      return width;
    });
  }
  return widths;
}

function renderTable(
  element: StatsElement,
  categories: readonly StatCategory[],
  widths: Widths,
  countWidth: number,
  report: StatsReport,
  pretty: boolean,
): string[] {
  const { category: sortCategory, field: sortField } = report.sort;
  let header = `  ${(sortCategory === 'count' ? 'Count*' : 'Count').padStart(countWidth)} `;
  let subHeader = `  ${'n'.padStart(countWidth)} `;
  let values = `  ${formatCount(element.count).padStart(countWidth)}`;
  for (const category of categories) {
    const fieldWidths = widths[category];
    const sum = fieldWidths.reduce((a, b) => a + b, 0);
    const sorted = category === sortCategory;
    header += `| ${(TITLES[category] + (sorted ? '*' : '')).padStart(sum)} `;
    subHeader += '| ';
    values += ' | ';
    SORT_FIELDS.forEach((field, i) => {
      const width = fieldWidths[i]!;
      subHeader +=
        sorted && field === sortField ? `${field.padStart(width - 1)}*` : field.padStart(width);
      values += formatValue(category, element[category][field], pretty).padStart(width);
    });
    subHeader += ' ';
  }
  return [header.trimEnd(), subHeader.trimEnd(), values];
}

function workerJobsTable(report: StatsReport): string[] {
  const { min, med, ave, max } = report.jobs.perWorker;
  const texts = [min, med, ave, max].map(formatCount);
  const width = Math.max(7, ...texts.map((t) => t.length + 1));
  return [
    ` ${'Worker Jobs'.padEnd(12)} | ${['min', 'med', 'ave', 'max'].map((h) => h.padStart(width)).join('')}`,
    `${' '.repeat(14)}| ${texts.map((t) => t.padStart(width)).join('')}`,
  ];
}

function header(report: StatsReport, pretty: boolean): string[] {
  const memory = pretty
    ? formatMemoryPretty(report.defaultMemory)
    : formatKiB(report.defaultMemory);
  const seconds = (s: number) => (pretty ? formatDuration(s) : fixed2(s));
  const lines = [
    `Batch System: ${report.batchSystem}`,
    `Default Cores: ${formatCount(report.defaultCores)}  Default Memory: ${memory}`,
    `Max Cores: ${report.maxCores === null ? 'unlimited' : formatCount(report.maxCores)}`,
    `Total Clock: ${seconds(report.totalClock)}  Total Runtime: ${seconds(report.totalRuntime)}`,
  ];
  if (report.attempts.length > 1) {
    for (const a of report.attempts) {
      lines.push(
        `    Attempt ${a.attempt}: Clock ${seconds(a.clock)}  Runtime ${seconds(a.runtime)}`,
      );
    }
  }
  return lines;
}

/**
 * The "no stats" explanation: why there is no job table, and how to get one.
 * Undefined when the report has job stats.
 */
export function noStatsMessage(report: StatsReport): string | undefined {
  if (report.jobs.count > 0) return undefined;
  if (!report.started) {
    return (
      `The workflow in ${report.jobStore} never started (its leader stopped before toil.start() ` +
      `saved the root job), so there are no stats. Delete the store with \`toil clean ${report.jobStore}\` ` +
      'and run the workflow again.'
    );
  }
  if (!report.statsEnabled) {
    return (
      'No job stats were recorded: this workflow ran without --stats. ' +
      'Run it again with --stats (for example `toil run WORKFLOW ' +
      `${report.jobStore} --stats\`, or add --stats to a --restart) to record them.`
    );
  }
  return 'No job stats were recorded yet: no job of this workflow has finished.';
}

/**
 * Renders a report as `toil stats` prints it: the header, the Worker table, the Job section
 * with its jobs-per-worker line, then one table per job name. Column widths are shared by
 * every table and always fit their values. Ends with a newline.
 */
export function renderStatsText(report: StatsReport, options: StatsTextOptions = {}): string {
  const pretty = options.pretty ?? false;
  const categories = options.categories ?? STAT_CATEGORIES;
  const lines = header(report, pretty);
  const noStats = noStatsMessage(report);
  const elements = [...report.jobTypes, report.worker, report.jobs];
  const widths = computeWidths(elements, categories, pretty);
  const countWidth = Math.max(7, ...elements.map((e) => formatCount(e.count).length));
  const table = (e: StatsElement) => renderTable(e, categories, widths, countWidth, report, pretty);
  if (report.worker.count > 0 || noStats === undefined) {
    lines.push('Worker', ...table(report.worker));
  }
  if (noStats === undefined) {
    lines.push('Job', ...workerJobsTable(report), ...table(report.jobs));
    for (const type of report.jobTypes) {
      const failed = type.failedAttempts > 0 ? `  Failed attempts: ${type.failedAttempts}` : '';
      lines.push(` ${type.name}`, `    Total Cores: ${formatCount(type.totalCores)}${failed}`);
      lines.push(...table(type));
    }
  } else {
    lines.push(noStats);
  }
  if (report.leaderTotalsPending) {
    lines.push(
      'Note: the latest run attempt has not recorded its leader totals yet (it is still running, ' +
        'or its leader stopped before finishing), so Total Clock and Total Runtime leave it out.',
    );
  }
  for (const skipped of report.skipped) lines.push(`Note: skipped ${skipped.reason}.`);
  return lines.join('\n') + '\n';
}
