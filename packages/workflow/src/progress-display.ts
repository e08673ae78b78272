import { describeNodeCost, describeNodeCounts } from '@toil/batch-system';
import type { WorkflowProgress } from './leader/progress.js';

type LogUpdate = ReturnType<typeof import('log-update').createLogUpdate>;
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

const count = (n: number): string => n.toLocaleString('en-US');

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

/**
 * The live progress of a run on a terminal (stderr): one line of totals (done, running,
 * queued, failed, rate, time left once it means something) and one per job name when there
 * are few, redrawn in place by log-update; log lines are printed above it. Ends with one
 * summary line. Colour unless `NO_COLOR`.
 */
export class ProgressDisplay {
  private last: WorkflowProgress | undefined;
  private drawn = false;
  private finished = false;

  private constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly update: LogUpdate,
    private readonly c: Colors,
  ) {}

  /**
   * Loads the terminal libraries (only when a display is wanted: a worker or a run in a pipe
   * loads neither).
   */
  static async create(stream: NodeJS.WriteStream): Promise<ProgressDisplay> {
    const [{ createLogUpdate }, { default: picocolors }] = await Promise.all([
      import('log-update'),
      import('picocolors'),
    ]);
    const color = !('NO_COLOR' in process.env) || process.env.NO_COLOR === '';
    return new ProgressDisplay(
      stream,
      createLogUpdate(stream, { showCursor: true }),
      picocolors.createColors(color),
    );
  }

  /** The frame for `p`. */
  frame(p: WorkflowProgress): string {
    return progressFrame(p, this.c);
  }

  /** Redraws with new counts. */
  show(p: WorkflowProgress): void {
    if (this.finished) return;
    this.last = p;
    this.update(this.frame(p));
    this.drawn = true;
  }

  /** Prints a log line above the display. */
  log(line: string): void {
    if (!this.drawn || this.finished) {
      this.stream.write(line);
      return;
    }
    this.update.clear();
    this.stream.write(line);
    if (this.last) this.update(this.frame(this.last));
  }

  /** Replaces the display with one summary line. */
  finish(p: WorkflowProgress): void {
    if (this.finished) return;
    this.finished = true;
    if (this.drawn) this.update.clear();
    this.update.done();
    const failed = p.failed > 0 ? `, ${this.c.red(`${count(p.failed)} failed attempts`)}` : '';
    const lost =
      p.failedJobs > 0 ? `, ${this.c.red(`${count(p.failedJobs)} failed for good`)}` : '';
    this.stream.write(
      `${this.c.bold('Jobs')}: ${count(p.done)} done${failed}${lost} in ${clock(p.elapsed)} (${rate(p).toFixed(1)}/s)\n`,
    );
    if (p.cost) this.stream.write(`${this.c.bold('Cost')}: ${describeNodeCost(p.cost)}\n`);
  }
}
