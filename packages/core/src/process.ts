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

/**
 * When the process started, in milliseconds since the epoch, read from `/proc` (Linux only);
 * undefined elsewhere or when the process is gone. Lets callers tell a recorded leader from an
 * unrelated process that reused its pid.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const ticksPerSecond = 100; // USER_HZ is 100 on every Linux ABI Node supports
    if (!Number.isFinite(startTicks) || !Number.isFinite(uptime)) return undefined;
    return Date.now() - (uptime - startTicks / ticksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}
