import { ToilError } from './errors.js';

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  p: 1e15,
  pb: 1e15,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
};

const SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i;

/**
 * Parses a size as Toil's `human2bytes` does: a number with an optional unit. Decimal units
 * (`K`, `M`, `G`, `T`, `P`, optionally with `B`) are powers of 1000; binary units (`Ki`, `Mi`,
 * `Gi`, …, optionally with `B`) are powers of 1024. A bare number is bytes. Returns whole bytes.
 *
 * @throws ToilError `INVALID_SIZE` for anything else, naming `what` (e.g. `--maxMemory`).
 */
export function parseSize(value: string | number, what = 'size'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.floor(value);
    throw invalidSize(String(value), what);
  }
  const match = SIZE_PATTERN.exec(value);
  const factor = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) throw invalidSize(value, what);
  const bytes = Number(match[1]) * factor;
  if (!Number.isFinite(bytes) || bytes > Number.MAX_SAFE_INTEGER) throw invalidSize(value, what);
  return Math.round(bytes);
}

function invalidSize(value: string, what: string): ToilError {
  return new ToilError('INVALID_SIZE', `Invalid ${what} '${value}': not a size.`, {
    hint: "Give a number of bytes or a number with a unit, e.g. '512Mi', '2G', '1.5Gi' (K/M/G are powers of 1000, Ki/Mi/Gi of 1024).",
  });
}

/**
 * Formats bytes with binary units, one decimal: `2.0Gi`, `512.0Mi`, `17B`.
 */
export function formatSize(bytes: number): string {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(value)}B` : `${value.toFixed(1)}${units[i]}`;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  sec: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
  w: 604800,
};

/**
 * Parses a duration into seconds. Accepts a bare number of seconds (`90`, `0.5`), unit forms
 * (`500ms`, `90s`, `15m`, `2h`, `1d`, `1w`) and their concatenations (`1h30m`), and Slurm's
 * `[days-]hours:minutes:seconds` / `minutes:seconds` forms (`1-02:00:00`, `30:00`).
 *
 * @throws ToilError `INVALID_DURATION` naming `what`.
 */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw invalidDuration(String(value), what);
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const clock = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text);
  if (clock) {
    const [, days, hours, minutes, seconds] = clock;
    if (hours === undefined && days !== undefined) {
      // Slurm reads `D-HH:MM` as days, hours and minutes.
      return Number(days) * 86400 + Number(minutes) * 3600 + Number(seconds) * 60;
    }
    return (
      Number(days ?? 0) * 86400 + Number(hours ?? 0) * 3600 + Number(minutes) * 60 + Number(seconds)
    );
  }
  const part = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = part.exec(text)) !== null) {
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) throw invalidDuration(value, what);
  return total;
}

function invalidDuration(value: string, what: string): ToilError {
  return new ToilError('INVALID_DURATION', `Invalid ${what} '${value}': not a duration.`, {
    hint: "Give seconds or a duration with units, e.g. '90', '90s', '15m', '1h30m', '1-00:00:00'.",
  });
}

/** Resource requirements of a job or a node. Sizes are bytes; cores may be fractional. */
export interface Resources {
  cores: number;
  memory: number;
  disk: number;
}
