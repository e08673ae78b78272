import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

let cachedNodeId: string | undefined;

/**
 * A stable id of this machine, used to tell whether a leader recorded in a job store runs
 * here (a pid means nothing on another host). Reads `/etc/machine-id` (stable across
 * reboots), else the kernel's boot id, else falls back to the host name.
 */
export function localNodeId(): string {
  if (cachedNodeId !== undefined) return cachedNodeId;
  for (const file of [
    '/etc/machine-id',
    '/var/lib/dbus/machine-id',
    '/proc/sys/kernel/random/boot_id',
  ]) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id) return (cachedNodeId = id);
    } catch {
      // try the next source
    }
  }
  return (cachedNodeId = `host:${hostname()}`);
}

/**
 * True when a process with this pid exists on this machine (signal 0 probe). `EPERM` means
 * it exists but belongs to another user, which still counts as alive.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Clock ticks per second of `/proc` times: USER_HZ is 100 on every Linux ABI Node supports. */
export const PROC_TICKS_PER_SECOND = 100;

/** Slack between a process's start time from `/proc` and the time it recorded itself. */
const START_TIME_TOLERANCE_MS = 2000;

/**
 * The fields of `/proc/<pid>/stat` (Linux) from the state (field 3 of proc(5)) on, so index 0
 * is the state, 1 the parent pid, 13/14 cutime/cstime, 19 the start time. Undefined elsewhere
 * or when the process is gone.
 */
export function processStatFields(pid: number | 'self'): string[] | undefined {
  try {
    return parseProcessStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * {@link processStatFields} of the text of a `/proc/<pid>/stat` read by the caller (which may
 * keep the file open and read it again).
 */
export function parseProcessStat(stat: string): string[] {
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * When the process started, in milliseconds since the epoch, read from `/proc` (Linux only);
 * undefined elsewhere or when the process is gone. Lets callers tell a recorded leader from an
 * unrelated process that reused its pid.
 */
export function processStartTime(pid: number): number | undefined {
  const fields = processStatFields(pid);
  if (!fields) return undefined;
  try {
    const startTicks = Number(fields[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(uptime)) return undefined;
    return Date.now() - (uptime - startTicks / PROC_TICKS_PER_SECOND) * 1000;
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is a running process: alive and not a zombie (an exited process whose parent
 * has not reaped it yet, e.g. a worker orphaned to an init that does not reap).
 */
export function isProcessRunning(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  const fields = processStatFields(pid);
  return fields === undefined || fields[0] !== 'Z';
}

/** The parent pid of a process from `/proc` (Linux), or undefined when it cannot be read. */
export function parentPid(pid: number): number | undefined {
  const ppid = Number(processStatFields(pid)?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/**
 * True when `pid` is running and is the process that recorded itself at `recordedAtMs`
 * (milliseconds since the epoch): a process that started after that moment has reused the pid
 * and is someone else.
 */
export function isRecordedProcessAlive(pid: number, recordedAtMs: number): boolean {
  if (!isProcessRunning(pid)) return false;
  const started = processStartTime(pid);
  return started === undefined || started <= recordedAtMs + START_TIME_TOLERANCE_MS;
}
