import { openSync, readSync, writeSync } from 'node:fs';
import { PROC_TICKS_PER_SECOND, parseProcessStat } from '@toil/core';

/**
 * Files of `/proc/self` this process keeps open and reads again from their start (one
 * `pread` per reading instead of open, stat, read and close: with `--stats` a worker takes
 * several readings per job). `null`: the file cannot be opened here (not Linux).
 */
const procFds = new Map<string, number | null>();
const procBuffer = Buffer.allocUnsafe(8192);

function procFd(name: string, flags: 'r' | 'w'): number | undefined {
  let fd = procFds.get(name);
  if (fd === undefined) {
    try {
      fd = openSync(`/proc/self/${name}`, flags);
    } catch {
      fd = null;
    }
    procFds.set(name, fd);
  }
  return fd ?? undefined;
}

/** Bytes read from the start of `/proc/self/<name>` into `procBuffer`, or -1. */
function readProc(name: string): number {
  const fd = procFd(name, 'r');
  if (fd === undefined) return -1;
  try {
    return readSync(fd, procBuffer, 0, procBuffer.length, 0);
  } catch {
    return -1;
  }
}

/**
 * CPU seconds (user + system) of this process's children that have been waited for
 * (`cutime` + `cstime` of /proc/self/stat). Node reaps the children it spawns, so the
 * difference around a job is the CPU of the processes the job ran. 0 off Linux.
 */
export function reapedChildrenCpuSeconds(): number {
  const length = readProc('stat');
  if (length <= 0) return 0;
  const fields = parseProcessStat(procBuffer.toString('latin1', 0, length));
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
  const fd = procFd('clear_refs', 'w');
  if (fd === undefined) return;
  try {
    writeSync(fd, '5');
  } catch {
    // Not allowed: the peak then covers the process's whole life.
  }
}

const VM_HWM = Buffer.from('VmHWM:');

/** Peak resident set size of this process (VmHWM), bytes. */
export function peakRssBytes(): number {
  const length = readProc('status');
  const at = length > 0 ? procBuffer.subarray(0, length).indexOf(VM_HWM) : -1;
  if (at >= 0) {
    const line = procBuffer.toString('latin1', at + VM_HWM.length, Math.min(length, at + 64));
    const match = /^\s*(\d+)\s+kB/.exec(line);
    if (match) return Number(match[1]) * 1024;
  }
  return process.resourceUsage().maxRSS * 1024;
}
