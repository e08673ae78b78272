import { readFileSync, writeFileSync } from 'node:fs';
import { PROC_TICKS_PER_SECOND, processStatFields } from '@toil/core';

/**
 * CPU seconds (user + system) of this process's children that have been waited for
 * (`cutime` + `cstime` of /proc/self/stat). Node reaps the children it spawns, so the
 * difference around a job is the CPU of the processes the job ran. 0 off Linux.
 */
export function reapedChildrenCpuSeconds(): number {
  const fields = processStatFields('self');
  if (!fields) return 0;
  return (Number(fields[13]) + Number(fields[14])) / PROC_TICKS_PER_SECOND;
}

/** CPU seconds (user + system) of this process itself. */
export function selfCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU of this process plus its waited-for children, seconds. */
export function totalCpuSeconds(): number {
  return selfCpuSeconds() + reapedChildrenCpuSeconds();
}

/**
 * Resets this process's peak resident set size (Linux `clear_refs` 5), so the next
 * {@link peakRssBytes} measures from now. Best effort.
 */
export function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux, or not allowed: the peak then covers the process's whole life.
  }
}

/** Peak resident set size of this process (VmHWM), bytes. */
export function peakRssBytes(): number {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // fall through
  }
  return process.resourceUsage().maxRSS * 1024;
}
