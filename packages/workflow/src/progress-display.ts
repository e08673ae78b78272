import { describeNodeCost, describeNodeCounts } from '@toil/batch-system';
import type { WorkflowProgress } from './leader/progress.js';

type Colors = ReturnType<typeof import('picocolors').createColors>;

/** When a live progress display makes sense: a terminal, not CI, info or more verbose logs. */
export function wantsLiveProgress(
  stream: NodeJS.WriteStream,
  infoShown: boolean,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return Boolean(stream.isTTY) && infoShown && !ci && env.TERM !== 'dumb';
}

function rate(p: WorkflowProgress): number {
  return p.elapsed > 0 ? p.done / p.elapsed : 0;
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** A count with thousands separators, `1,204` (without Intl: its first use costs ~10 ms). */
const count = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * One frame of the display: the totals line, a line of a cluster's nodes when there are any,
 * and one line per job name when there are few. `c` colours it (picocolors).
 */
export function progressFrame(p: WorkflowProgress, c: Colors): string {
  const parts = [
    `${c.green(count(p.done))} done`,
    `${count(p.running)} running`,
    `${count(p.queued)} queued`,
    p.failed > 0 ? c.red(`${count(p.failed)} failed`) : '0 failed',
  ];
  const perSecond = rate(p);
  if (p.elapsed >= 1)
    parts.push(`${perSecond >= 10 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`);
  const left = p.queued + p.running;
  // An estimate from a few seconds or a handful of jobs would jump around: wait for both.
  if (p.elapsed >= 3 && p.done >= 10 && left > 0 && perSecond > 0)
    parts.push(`~${clock(left / perSecond)} left`);
  parts.push(c.dim(clock(p.elapsed)));
  const lines = [`${c.bold('Jobs')} ${parts.join(' · ')}`];
  if (p.nodes && p.nodes.length > 0)
    lines.push(`${c.bold('Nodes')} ${describeNodeCounts(p.nodes)}`);
  if (p.cost) lines.push(`${c.bold('Cost')} ${describeNodeCost(p.cost)}`);
  if (p.byName && p.byName.length > 1) {
    const width = Math.max(...p.byName.map((n) => n.name.length));
    for (const n of p.byName)
      lines.push(
        `  ${c.dim(n.name.padEnd(width))}  ${count(n.done)} done${n.failed > 0 ? ` · ${c.red(`${count(n.failed)} failed`)}` : ''}`,
      );
  }
  return lines.join('\n');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
// The same, kept by split().
// eslint-disable-next-line no-control-regex
const ANSI_PART = /(\x1b\[[0-9;?]*[A-Za-z])/;

/**
 * The cells `char` takes on a terminal, never fewer: 1 below U+1100, 2 from there (wide East
 * Asian characters and emoji; some narrow ones are counted wide, which only cuts a line earlier).
 */
const cells = (char: string): number => (char.codePointAt(0)! < 0x1100 ? 1 : 2);

function visibleWidth(line: string): number {
  let width = 0;
  for (const char of line.replace(ANSI, '')) width += cells(char);
  return width;
}

/**
 * `line` cut to at most `width` cells (colour codes count none), ending in `…` when cut, so
 * that it takes exactly one row of the terminal. @internal
 */
export function fitLine(line: string, width: number): string {
  if (visibleWidth(line) <= width) return line;
  let used = 0;
  let out = '';
  let styled = false;
  for (const part of line.split(ANSI_PART)) {
    if (part.startsWith('\x1b[')) {
      out += part;
      styled = true;
      continue;
    }
    for (const char of part) {
      if (used + cells(char) > width - 1) return `${out}…${styled ? '\x1b[0m' : ''}`;
      out += char;
      used += cells(char);
    }
  }
  return out;
}

// Cursor up N rows, then erase from there to the end of the screen.
const up = (rows: number): string => (rows > 0 ? `\r\x1b[${rows}A\x1b[J` : '');
// Terminals that support it draw the frame at once (synchronized output); others ignore it.
const SYNC_START = '\x1b[?2026h';
const SYNC_END = '\x1b[?2026l';

/**
 * The live progress of a run on a terminal (stderr): one line of totals (done, running,
 * queued, failed, rate, time left once it means something) and one per job name when there
 * are few, redrawn in place (at most as often as the leader reports, five times a second):
 * every line is cut to the terminal's width, so the frame takes as many rows as it has lines
 * and a redraw is moving the cursor up and writing the frame; an unchanged frame is not
 * written. Log lines are printed above it. Ends with one summary line. Colour unless
 * `NO_COLOR`.
 */
export class ProgressDisplay {
  private last: WorkflowProgress | undefined;
  private drawn = '';
  private rows = 0;
  private finished = false;

  private constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly c: Colors,
  ) {}

  /**
   * Loads the colours (only when a display is wanted: a worker or a run in a pipe loads
   * nothing of it).
   */
  static async create(stream: NodeJS.WriteStream): Promise<ProgressDisplay> {
    const { default: picocolors } = await import('picocolors');
    const color = !('NO_COLOR' in process.env) || process.env.NO_COLOR === '';
    return new ProgressDisplay(stream, picocolors.createColors(color));
  }

  /** The frame for `p`. */
  frame(p: WorkflowProgress): string {
    return progressFrame(p, this.c);
  }

  /** The frame's lines as drawn: each cut to the width, no more than the terminal's height. */
  private fitted(p: WorkflowProgress): string {
    const width = Math.max(10, (this.stream.columns || 80) - 1);
    const height = Math.max(1, (this.stream.rows || 24) - 1);
    return this.frame(p)
      .split('\n')
      .slice(0, height)
      .map((line) => `${fitLine(line, width)}\n`)
      .join('');
  }

  private draw(text: string, before = ''): void {
    this.stream.write(`${SYNC_START}${up(this.rows)}${before}${text}${SYNC_END}`);
    this.drawn = text;
    this.rows = text.split('\n').length - 1;
  }

  /** Redraws with new counts. */
  show(p: WorkflowProgress): void {
    if (this.finished) return;
    this.last = p;
    const text = this.fitted(p);
    if (text !== this.drawn) this.draw(text);
  }

  /** Prints a log line above the display. */
  log(line: string): void {
    if (this.rows === 0 || this.finished) {
      this.stream.write(line);
      return;
    }
    this.draw(this.last ? this.fitted(this.last) : this.drawn, line);
  }

  /** Replaces the display with one summary line. */
  finish(p: WorkflowProgress): void {
    if (this.finished) return;
    this.finished = true;
    const failed = p.failed > 0 ? `, ${this.c.red(`${count(p.failed)} failed attempts`)}` : '';
    const lost =
      p.failedJobs > 0 ? `, ${this.c.red(`${count(p.failedJobs)} failed for good`)}` : '';
    this.stream.write(
      `${up(this.rows)}${this.c.bold('Jobs')}: ${count(p.done)} done${failed}${lost} in ${clock(p.elapsed)} (${rate(p).toFixed(1)}/s)\n`,
    );
    this.rows = 0;
    if (p.cost) this.stream.write(`${this.c.bold('Cost')}: ${describeNodeCost(p.cost)}\n`);
  }
}
