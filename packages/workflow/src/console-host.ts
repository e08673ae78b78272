import { appendFileSync } from 'node:fs';
import {
  formatLogLine,
  isLevelShown,
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
    const shown = isLevelShown(event.level, this.level);
    if (!shown && this.options.logFile === undefined) return;
    const line = formatLogLine(event) + '\n';
    if (this.options.logFile !== undefined) appendFileSync(this.options.logFile, line);
    if (shown) this.write(line);
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    return request.defaultAnswer;
  }
}
