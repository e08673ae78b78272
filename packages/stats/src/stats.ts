import { ToilError, silentHost, startSpan } from '@toil/core';
import {
  SORT_CATEGORIES,
  SORT_FIELDS,
  STAT_CATEGORIES,
  StatsCollector,
  type SortCategory,
  type SortField,
  type SortOptions,
  type StatCategory,
  type StatsReport,
} from './collate.js';
import { withExistingStore, type UtilityOptions } from './open.js';

/** Options of {@link gatherStats}. */
export interface GatherStatsOptions extends UtilityOptions {
  sort?: SortOptions;
}

const PROGRESS_EVERY = 10_000;

/**
 * Reads every stats record of a job store (all attempts, read or unread) and collates them.
 * Read-only: the store is not changed, so it is safe while the workflow runs.
 *
 * @throws ToilError `JOBSTORE_NOT_FOUND` when there is no store; `JOBSTORE_CORRUPT` /
 *   `JOBSTORE_INCOMPATIBLE` from the store.
 */
export async function gatherStats(
  locator: string,
  options: GatherStatsOptions = {},
): Promise<StatsReport> {
  const host = options.host ?? silentHost;
  return withExistingStore(locator, host, async (store) => {
    const config = await store.resume();
    const collector = new StatsCollector();
    const span = startSpan(host, 'STATS_READ', `Reading stats records of ${store.locator}`, {
      source: 'toil.stats',
      level: 'debug',
    });
    for await (const record of store.readStats()) {
      collector.add(record);
      if (collector.count % PROGRESS_EVERY === 0)
        span.progress(collector.count, 'Stats records read');
    }
    span.end(`Read ${collector.count} stats records`, { data: { records: collector.count } });
    // Saving the root job id is the last step of toil.start(): without it nothing ran.
    const started = (await store.getRootJobId()) !== undefined || collector.count > 0;
    return collector.finish(config, { jobStore: store.locator, sort: options.sort, started });
  });
}

function choiceError(option: string, value: string, choices: readonly string[]): ToilError {
  return new ToilError('INVALID_ARGUMENT', `Invalid ${option} '${value}'.`, {
    hint: `Choose from: ${choices.join(', ')}.`,
  });
}

/**
 * Parses `--categories` (comma-separated, any case): the categories in the order given.
 *
 * @throws ToilError `INVALID_ARGUMENT` naming the bad value and listing the choices.
 */
export function parseCategories(text: string): StatCategory[] {
  const result: StatCategory[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim().toLowerCase();
    if (!(STAT_CATEGORIES as readonly string[]).includes(name)) {
      throw choiceError('--categories value', raw.trim(), STAT_CATEGORIES);
    }
    if (!result.includes(name as StatCategory)) result.push(name as StatCategory);
  }
  return result;
}

/** Checks a `--sortCategory` value. @throws ToilError `INVALID_ARGUMENT` listing the choices. */
export function parseSortCategory(text: string): SortCategory {
  const name = text.trim().toLowerCase();
  if (!(SORT_CATEGORIES as readonly string[]).includes(name)) {
    throw choiceError('--sortCategory', text, SORT_CATEGORIES);
  }
  return name as SortCategory;
}

/** Checks a `--sortField` value. @throws ToilError `INVALID_ARGUMENT` listing the choices. */
export function parseSortField(text: string): SortField {
  const name = text.trim().toLowerCase();
  if (!(SORT_FIELDS as readonly string[]).includes(name)) {
    throw choiceError('--sortField', text, SORT_FIELDS);
  }
  return name as SortField;
}
