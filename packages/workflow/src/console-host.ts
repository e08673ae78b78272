import { appendFileSync } from 'node:fs';
import {
  formatLogLine,
  isLevelShown,
  type ConfirmRequest,
  type IoHost,
  type LogLevel,
  type ToilEvent,
} from '@toil/core';
import type { WorkflowProgress } from './leader/progress.js';
import { ProgressDisplay, wantsLiveProgress } from './progress-display.js';

/** Options of {@link ConsoleHost}. */
export interface ConsoleHostOptions {
  /** Most verbose level shown (default `info`). */
  level?: LogLevel;
  /** Also append every line to this file. */
  logFile?: string;
  /** Where lines go (default: `process.stderr`, with the live progress display on a terminal). */
  write?: (text: string) => void;
}

/**
 * The host a workflow program (and so `toil run`) reports through: Toil-style log lines on
 * stderr, `[2026-01-01T00:00:00+0000] [I] [toil.leader] message`, at or above the chosen
 * level. On a terminal (not in CI, `--logLevel` info or more verbose) it also draws the run's
 * live progress from the leader's `WORKFLOW_PROGRESS` events, with log lines scrolling above
 * it; anywhere else it prints nothing more.
 */
export class ConsoleHost implements IoHost {
  private readonly level: LogLevel;
  private readonly write: (text: string) => void;
  private display: ProgressDisplay | undefined;
  private pendingEnd: WorkflowProgress | undefined;

  constructor(private readonly options: ConsoleHostOptions = {}) {
    this.level = options.level ?? 'info';
    this.write = options.write ?? ((text) => process.stderr.write(text));
    if (
      options.write === undefined &&
      wantsLiveProgress(process.stderr, isLevelShown('info', this.level))
    ) {
      // Loaded asynchronously: progress events before it is ready are simply not drawn.
      void ProgressDisplay.create(process.stderr).then(
        (display) => {
          this.display = display;
          if (this.pendingEnd) display.finish(this.pendingEnd);
        },
        () => undefined,
      );
    }
  }

  emit(event: ToilEvent): void {
    if (event.code === 'WORKFLOW_PROGRESS' && event.span) {
      const data = event.data as WorkflowProgress | undefined;
      if (data && event.span.phase === 'end') {
        if (this.display) this.display.finish(data);
        else this.pendingEnd = data;
      } else if (data && event.span.phase !== 'end') this.display?.show(data);
      if (event.span.phase !== 'end' || !isLevelShown(event.level, this.level)) return;
    }
    if (event.span?.phase === 'progress') return;
    const shown = isLevelShown(event.level, this.level);
    if (!shown && this.options.logFile === undefined) return;
    const line = formatLogLine(event) + '\n';
    if (this.options.logFile !== undefined) appendFileSync(this.options.logFile, line);
    if (!shown) return;
    if (this.display) this.display.log(line);
    else this.write(line);
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    return request.defaultAnswer;
  }
}
