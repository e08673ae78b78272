import { appendFileSync } from 'node:fs';
import { createColors } from 'picocolors';
import {
  LOG_LEVEL_RANK,
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

const LEVEL_LETTER: Record<LogLevel, string> = {
  critical: 'C',
  error: 'E',
  warning: 'W',
  info: 'I',
  debug: 'D',
};

function timestamp(time: number): string {
  // Toil's format: %Y-%m-%dT%H:%M:%S%z, in UTC here so logs compare across machines.
  return `${new Date(time).toISOString().slice(0, 19)}+0000`;
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
    const message = redact(event.message);
    if (this.options.logFile !== undefined) {
      appendFileSync(this.options.logFile, this.format(event, message, false) + '\n');
    }
    if (this.options.json) {
      if (LOG_LEVEL_RANK[event.level] <= LOG_LEVEL_RANK[this.options.level]) {
        this.stream.write(JSON.stringify({ ...event, message }) + '\n');
      }
      return;
    }
    if (event.span?.phase === 'progress') {
      this.drawProgress(event, message);
      return;
    }
    if (LOG_LEVEL_RANK[event.level] > LOG_LEVEL_RANK[this.options.level]) return;
    this.clearProgress();
    this.stream.write(this.format(event, message, true) + '\n');
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

  private format(event: ToilEvent, message: string, colour: boolean): string {
    const letter = LEVEL_LETTER[event.level];
    const c = this.colours;
    const level = !colour
      ? letter
      : event.level === 'critical' || event.level === 'error'
        ? c.red(letter)
        : event.level === 'warning'
          ? c.yellow(letter)
          : event.level === 'debug'
            ? c.dim(letter)
            : letter;
    return `[${timestamp(event.time)}] [${level}] [${event.source ?? 'toil'}] ${message}`;
  }

  private drawProgress(event: ToilEvent, message: string): void {
    if (!this.stream.isTTY || LOG_LEVEL_RANK[this.options.level] < LOG_LEVEL_RANK.info) return;
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
