import { appendFileSync } from 'node:fs';
import { createColors } from 'picocolors';
import {
  formatLogLine,
  isLevelShown,
  redact,
  type ConfirmRequest,
  type IoHost,
  type LogLevel,
  type ToilEvent,
} from '@toil/core';

/** How the terminal host shows events. */
export interface TerminalHostOptions {
  level: LogLevel;
  /** Write events as NDJSON on stderr instead of log lines. */
  json: boolean;
  /** Also append log lines (uncoloured) to this file. */
  logFile?: string;
  /** Where log lines go; stderr by default. */
  stream?: NodeJS.WriteStream;
  /** Answer every confirmation with yes (`--yes`/`--force`). */
  assumeYes?: boolean;
}

/** True when colour may be used on `stream`: a TTY, and `NO_COLOR` unset. */
export function useColour(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
}

/**
 * The CLI's IoHost: writes each event at or above the chosen level to stderr as a log line
 * (`[time] [L] [source] message`, levels coloured on a TTY), or as one JSON object per line
 * with `--json`. Progress events of spans draw a single updating line on a TTY.
 */
export class TerminalHost implements IoHost {
  private readonly stream: NodeJS.WriteStream;
  private readonly colours;
  private progressShown = false;

  constructor(private readonly options: TerminalHostOptions) {
    this.stream = options.stream ?? process.stderr;
    this.colours = createColors(useColour(this.stream));
  }

  emit(event: ToilEvent): void {
    if (this.options.logFile !== undefined) {
      appendFileSync(this.options.logFile, formatLogLine(event) + '\n');
    }
    const shown = isLevelShown(event.level, this.options.level);
    if (this.options.json) {
      if (shown)
        this.stream.write(JSON.stringify({ ...event, message: redact(event.message) }) + '\n');
      return;
    }
    if (event.span?.phase === 'progress') {
      this.drawProgress(event, redact(event.message));
      return;
    }
    if (!shown) return;
    this.clearProgress();
    this.stream.write(formatLogLine(event, { styleLevel: this.styleLevel }) + '\n');
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    if (this.options.assumeYes) return true;
    // Without a person at a terminal, never guess beyond the request's own default.
    if (!process.stdin.isTTY || !this.stream.isTTY) return request.defaultAnswer;
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: this.stream });
    try {
      const answer = await rl.question(
        `${redact(request.message)} [${request.defaultAnswer ? 'Y/n' : 'y/N'}] `,
      );
      if (answer.trim() === '') return request.defaultAnswer;
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  }

  private readonly styleLevel = (letter: string, level: LogLevel): string => {
    const c = this.colours;
    if (level === 'critical' || level === 'error') return c.red(letter);
    if (level === 'warning') return c.yellow(letter);
    if (level === 'debug') return c.dim(letter);
    return letter;
  };

  private drawProgress(event: ToilEvent, message: string): void {
    if (!this.stream.isTTY || !isLevelShown('info', this.options.level)) return;
    const { done = 0, total } = event.span ?? {};
    const counter = total
      ? `${done}/${total} (${Math.floor((100 * done) / Math.max(total, 1))}%)`
      : `${done}`;
    const line = `${message} ${counter}`.slice(0, (this.stream.columns ?? 80) - 1);
    this.stream.write(`\r\u001b[2K${line}`);
    this.progressShown = true;
  }

  private clearProgress(): void {
    if (this.progressShown) {
      this.stream.write('\r\u001b[2K');
      this.progressShown = false;
    }
  }
}
