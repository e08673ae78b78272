import { spawnSync, spawn } from 'node:child_process';
import {
  isProcessAlive,
  isProcessRunning,
  isRecordedProcessAlive,
  localNodeId,
  parentPid,
  parseProcessStat,
  processStartTime,
  processStatFields,
} from '@toil/core';

describe('process helpers', () => {
  it('gives the same non-empty node id on every call', () => {
    expect(localNodeId()).toMatch(/\S/);
    expect(localNodeId()).toBe(localNodeId());
  });

  it('sees this process as alive and a finished child as gone', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', '0']);
    expect(isProcessAlive(child.pid!)).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-5)).toBe(false);
  });

  it('reads a live process start time close to when it was spawned', async () => {
    const before = Date.now();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    await new Promise((resolve) => child.once('spawn', resolve));
    const started = processStartTime(child.pid!);
    child.kill('SIGKILL');
    expect(started).toBeDefined();
    expect(Math.abs(started! - before)).toBeLessThan(2000);
    expect(processStartTime(2 ** 22 + 12345)).toBeUndefined();
  });

  it('reads the state and parent of a process from /proc, and nothing for a gone one', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      expect(parentPid(child.pid!)).toBe(process.pid);
      expect(processStatFields('self')?.[0]).toBe('R');
      expect(isProcessRunning(child.pid!)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    const gone = 2 ** 22 + 12345;
    expect(processStatFields(gone)).toBeUndefined();
    expect(parentPid(gone)).toBeUndefined();
    expect(isProcessRunning(gone)).toBe(false);
  });

  it('splits a /proc stat text after the command name, even one with spaces and parentheses', () => {
    const fields = parseProcessStat(
      '4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1 2 3 4 5 6 7 8\n',
    );
    expect(fields.slice(0, 2)).toEqual(['S', '1']);
    expect(fields[13]).toBe('7');
    expect(Number(fields[14])).toBe(8);
  });

  it('tells the process that recorded itself from one that reused its pid later', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      expect(isRecordedProcessAlive(child.pid!, Date.now())).toBe(true);
      // Recorded an hour before this process started: the pid now belongs to someone else.
      expect(isRecordedProcessAlive(child.pid!, Date.now() - 3_600_000)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
