/** Severity of an event, in Toil's logging order (most severe first). */
export type LogLevel = 'critical' | 'error' | 'warning' | 'info' | 'debug';

/** Numeric rank of each level: an event is shown when its rank <= the host's threshold. */
export const LOG_LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  critical: 0,
  error: 1,
  warning: 2,
  info: 3,
  debug: 4,
};

/**
 * One thing a library reports. `code` is stable (e.g. `JOBSTORE_DESTROY_PROGRESS`) so that a
 * renderer or a script can match on it; `message` is for people; `data` carries the facts.
 */
export interface ToilEvent<TData = Record<string, unknown>> {
  /** Stable, upper snake case, namespaced by area (JOBSTORE_*, WORKFLOW_*, STATS_*...). */
  code: string;
  level: LogLevel;
  /** One line, no trailing newline. */
  message: string;
  /** Structured payload; must be JSON-serialisable. */
  data?: TData;
  /** Milliseconds since the epoch. */
  time: number;
  /** Which library or component reported it (e.g. `toil.jobstore`). */
  source?: string;
  /** Set on the start, progress and end events of a long piece of work. */
  span?: {
    id: string;
    phase: 'start' | 'progress' | 'end';
    total?: number;
    done?: number;
    ok?: boolean;
  };
}

/** A question a library asks before doing something destructive. */
export interface ConfirmRequest {
  code: string;
  message: string;
  /** What to assume when nobody can answer (no TTY, `--yes` absent). */
  defaultAnswer: boolean;
  data?: Record<string, unknown>;
}

/**
 * What a library reports through. Libraries never print and never exit: they call
 * {@link IoHost.emit} and let the host (the CLI, a test, a script) decide what to show.
 */
export interface IoHost {
  emit(event: ToilEvent): void;
  /** Resolves to true when the destructive action may go ahead. */
  confirm(request: ConfirmRequest): Promise<boolean>;
}

/** A host that discards every event and answers every confirmation with its default. */
export const silentHost: IoHost = {
  emit() {},
  async confirm(request) {
    return request.defaultAnswer;
  },
};

let spanCounter = 0;

/** Handle on a long piece of work started with {@link startSpan}. */
export interface Span {
  readonly id: string;
  /** Report progress: `done` of `total` units. */
  progress(done: number, message?: string, data?: Record<string, unknown>): void;
  /** Close the span; `ok` false marks it failed. */
  end(
    message: string,
    options?: { ok?: boolean; data?: Record<string, unknown>; level?: LogLevel },
  ): void;
}

/**
 * Starts a span: emits a `start` event now and returns a handle for `progress` and `end`
 * events with the same id, so a renderer can draw a progress bar or a timing.
 */
export function startSpan(
  host: IoHost,
  code: string,
  message: string,
  options: {
    total?: number;
    source?: string;
    level?: LogLevel;
    data?: Record<string, unknown>;
  } = {},
): Span {
  const id = `${code}:${process.pid}:${++spanCounter}`;
  const level = options.level ?? 'info';
  const total = options.total;
  const base = { code, source: options.source };
  host.emit({
    ...base,
    level,
    message,
    data: options.data,
    time: Date.now(),
    span: { id, phase: 'start', total },
  });
  return {
    id,
    progress(done, progressMessage, data) {
      host.emit({
        ...base,
        level: 'debug',
        message: progressMessage ?? message,
        data,
        time: Date.now(),
        span: { id, phase: 'progress', total, done },
      });
    },
    end(endMessage, endOptions = {}) {
      const ok = endOptions.ok ?? true;
      host.emit({
        ...base,
        level: endOptions.level ?? (ok ? level : 'error'),
        message: endMessage,
        data: endOptions.data,
        time: Date.now(),
        span: { id, phase: 'end', total, ok },
      });
    },
  };
}

/** Small helper for libraries: emit one event with the current time. */
export function report(
  host: IoHost,
  level: LogLevel,
  code: string,
  message: string,
  data?: Record<string, unknown>,
  source?: string,
): void {
  host.emit({ code, level, message, data, time: Date.now(), source });
}

/**
 * A host for tests: keeps every event and answers confirmations from a queue (or with the
 * request's default when the queue is empty).
 */
export class RecordingHost implements IoHost {
  readonly events: ToilEvent[] = [];
  readonly confirmations: ConfirmRequest[] = [];
  private readonly answers: boolean[];

  constructor(answers: boolean[] = []) {
    this.answers = [...answers];
  }

  emit(event: ToilEvent): void {
    this.events.push(event);
  }

  async confirm(request: ConfirmRequest): Promise<boolean> {
    this.confirmations.push(request);
    return this.answers.length > 0 ? (this.answers.shift() as boolean) : request.defaultAnswer;
  }

  /** Events with this code, in order. */
  withCode(code: string): ToilEvent[] {
    return this.events.filter((e) => e.code === code);
  }

  /** Messages of every event at or above `level`. */
  messages(level: LogLevel = 'debug'): string[] {
    return this.events
      .filter((e) => LOG_LEVEL_RANK[e.level] <= LOG_LEVEL_RANK[level])
      .map((e) => e.message);
  }
}
