import { AsyncLocalStorage } from 'node:async_hooks';
import { ToilError, type LogLevel } from '@toil/core';
import { epochSecondsNow, type LeaderMessage } from '@toil/jobstore';

/** Longest message text sent to the leader; longer ones are cut with a note. */
export const MAX_MESSAGE_CHARS = 8 * 1024;

/** Messages a job may send per second on average, and in one burst. */
export const MESSAGE_RATE = { perSecond: 50, burst: 200 } as const;

/**
 * Bounds what one job attempt sends to the leader's log: a token bucket of
 * {@link MESSAGE_RATE} and texts cut at {@link MAX_MESSAGE_CHARS}. What it drops is counted
 * and said (at most once a second while the job sends, and when the attempt ends), so the leader's log tells
 * the truth about what it does not show.
 */
export class MessageLimiter {
  private tokens: number = MESSAGE_RATE.burst;
  private last: number;
  private dropped = 0;
  private lastDropReport = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly jobId: string,
    private readonly sink: (message: LeaderMessage) => void,
    private readonly now: () => number = () => process.uptime() * 1000,
  ) {
    this.last = this.now();
  }

  /** Sends `text` at `level` now, unless the job is over its rate. */
  send(text: string, level: LogLevel): void {
    const now = this.now();
    this.tokens = Math.min(
      MESSAGE_RATE.burst,
      this.tokens + ((now - this.last) / 1000) * MESSAGE_RATE.perSecond,
    );
    this.last = now;
    if (this.tokens < 1) {
      this.dropped += 1;
      return;
    }
    this.tokens -= 1;
    // At most one "not sent" line a second while sending goes on; the rest at the end.
    if (now - this.lastDropReport >= 1000) this.reportDropped();
    const cut =
      text.length > MAX_MESSAGE_CHARS
        ? `${text.slice(0, MAX_MESSAGE_CHARS)}… (${text.length - MAX_MESSAGE_CHARS} more characters not sent)`
        : text;
    this.sink({ level, text: cut, jobId: this.jobId, time: epochSecondsNow() });
  }

  /** Says how many messages were dropped since the last time it said so. */
  reportDropped(): void {
    if (this.dropped === 0) return;
    this.lastDropReport = this.now();
    const count = this.dropped;
    this.dropped = 0;
    this.sink({
      level: 'warning',
      text: `${count} message(s) from this job were not sent (more than ${MESSAGE_RATE.perSecond}/s).`,
      jobId: this.jobId,
      time: epochSecondsNow(),
    });
  }
}

// On globalThis, so that a workflow module that loaded another copy of this package (its own
// node_modules, or sources through tsx) still finds the job the worker is running.
const CURRENT_JOB_LOG = Symbol.for('@toil/workflow/current-job-log');
const currentJobLog = ((globalThis as Record<symbol, unknown>)[CURRENT_JOB_LOG] ??=
  new AsyncLocalStorage<MessageLimiter>()) as AsyncLocalStorage<MessageLimiter>;

/** Runs `fn` with `limiter` as the job log {@link RealtimeLogger} writes to. @internal */
export function withJobLog<T>(limiter: MessageLimiter, fn: () => T): T {
  return currentJobLog.run(limiter, fn);
}

function send(level: LogLevel, text: string): void {
  const limiter = currentJobLog.getStore();
  if (!limiter) {
    throw new ToilError('WORKFLOW_INVALID', 'RealtimeLogger was used outside a running job.', {
      hint: 'Call it from code a job runs (its run() or function), or log with your own logger there.',
    });
  }
  limiter.send(String(text), level);
}

/**
 * Toil's `RealtimeLogger`: log lines from anywhere in a running job's code (no file store at
 * hand) that appear in the leader's log as they happen, like `fileStore.logToLeader`. Bounded
 * per job ({@link MESSAGE_RATE}); outside a job it throws `WORKFLOW_INVALID`.
 */
export const RealtimeLogger = {
  /** An info line. */
  info(text: string): void {
    send('info', text);
  },
  /** A warning line. */
  warning(text: string): void {
    send('warning', text);
  },
  /** An error line. */
  error(text: string): void {
    send('error', text);
  },
  /** A debug line (shown by a leader at `--logLevel debug`). */
  debug(text: string): void {
    send('debug', text);
  },
};
