let last = 0;
/** Microseconds since the epoch at the process's start (performance.timeOrigin without perf_hooks). */
let origin: number | undefined;

/**
 * The next sequence number of this process: a hybrid logical clock in microseconds since the
 * epoch, strictly increasing, and above every sequence number this process has observed in
 * the store (so a write made after reading another writer's record always orders after it,
 * whatever the clocks say).
 */
export function nextSeq(): number {
  const uptime = process.uptime() * 1e6;
  origin ??= Date.now() * 1000 - uptime;
  const now = Math.floor(origin + uptime);
  last = Math.max(now, last + 1);
  return last;
}

/** Records a sequence number read from the store; see {@link nextSeq}. */
export function observeSeq(seq: number): void {
  if (seq > last) last = seq;
}
