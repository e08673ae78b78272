import { performance } from 'node:perf_hooks';

let last = 0;

/**
 * The next sequence number of this process: a hybrid logical clock in microseconds since the
 * epoch, strictly increasing, and above every sequence number this process has observed in
 * the store (so a write made after reading another writer's record always orders after it,
 * whatever the clocks say).
 */
export function nextSeq(): number {
  const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  last = Math.max(now, last + 1);
  return last;
}

/** Records a sequence number read from the store; see {@link nextSeq}. */
export function observeSeq(seq: number): void {
  if (seq > last) last = seq;
}
