import { appendFileSync } from 'node:fs';
import {
  LOG_LEVEL_RANK,
  redact,
  type ConfirmRequest,
  type IoHost,
  type LogLevel,
  type ToilEvent,
} from '@toil/core';

/** Options of {@link ConsoleHost}. */
export interface ConsoleHostOptions {
  /** Most verbose level shown (default `info`). */
  level?: LogLevel;
  /** Also append every line to this file. */
  logFile?: string;
  /** Where lines go (default: `process.stderr`). */
  write?: (text: string) => void;
}

const LEVEL_LETTER: Record<LogLevel, string> = {
  critical: 'C',
  error: 'E',
  warning: 'W',
  info: 'I',
  debug: 'D',
};

/**
 * The host a workflow program run directly reports through: Toil-style log lines on stderr,
 * `[2026-01-01T00:00:00+0000] [I] [toil.leader] message`, at or above the chosen level. (The
 * `toil` CLI uses its own terminal host with colour and progress.)
 */
export class ConsoleHost implements IoHost {
  private readonly level: LogLevel;
  private readonly write: (text: string) => void;

  constructor(private readonly options: ConsoleHostOptions = {}) {
    this.level = options.level ?? 'info';
    this.write = options.write ?? ((text) => process.stderr.write(text));
  }

  emit(event: ToilEvent): void {
    if (event.span?.phase === 'progress') return;
    const shown = LOG_LEVEL_RANK[event.level] <= LOG_LEVEL_RANK[this.level];
    if (!shown && this.options.logFile === undefined) return;
    const line = `[${new Date(event.time).toISOString().slice(0, 19)}+0000] [${LEVEL_LETTER[event.level]}] [${event.source ?? 'toil'}] ${redact(event.message)}\n`;
    if (this.options.logFile !== undefined) appendFileSync(this.options.logFile, line);
    if (shown) this.write(line);
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    return request.defaultAnswer;
  }
}
