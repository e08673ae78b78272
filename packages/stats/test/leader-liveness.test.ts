import { spawn } from 'node:child_process';
import { RecordingHost } from '@toil/core';
import {
  classifyLeader,
  epochMillis,
  getStatus,
  isRunning,
  killWorkflow,
  isoTime,
} from '@toil/stats';
import { buildStoreWithRootJob, deadPid, exited, localLeader, useScratchDir } from './stores.js';
import { epochSecondsNow, epochSecondsOf, type EpochSeconds } from '@toil/jobstore';

describe('leader liveness', () => {
  const scratch = useScratchDir();

  function startSleeper() {
    return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  }

  it('sees a recorded live process on this machine as alive, and a finished one as dead', async () => {
    const child = startSleeper();
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      expect(classifyLeader(localLeader(child.pid!)).kind).toBe('local-alive');
      expect(isRunning(child.pid!)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
    expect(classifyLeader(localLeader(child.pid!)).kind).toBe('local-dead');
    expect(classifyLeader(undefined).kind).toBe('none');
    expect(classifyLeader({ ...localLeader(1), nodeId: 'elsewhere' }).kind).toBe('remote');
  });

  it('never signals a process that reused the leader pid', async () => {
    // The process started after the leader recorded itself, so it is not that leader.
    const child = startSleeper();
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      const recordedBefore = localLeader(child.pid!, {
        startedAt: epochSecondsOf(new Date(Date.now() - 60_000)),
      });
      expect(classifyLeader(recordedBefore).kind).toBe('local-dead');
      const locator = await buildStoreWithRootJob(`file:${scratch('recycled')}`, {
        leader: recordedBefore,
      });
      const host = new RecordingHost();
      const result = await killWorkflow(locator, { host });
      expect(result.action).toBe('not-running');
      expect(host.withCode('KILL_SIGNALLED')).toHaveLength(0);
      expect(isRunning(child.pid!)).toBe(true);
      expect((await getStatus(locator)).state).toBe('leader-died');
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
  });

  it('reads leader times as the epoch seconds records hold', () => {
    expect(epochMillis(1_700_000_000 as EpochSeconds)).toBe(1_700_000_000_000);
    expect(epochMillis(1_700_000_000.5 as EpochSeconds)).toBe(1_700_000_000_500);
    expect(isoTime(epochSecondsOf(new Date(Date.UTC(2026, 10, 30, 1, 2, 3))))).toBe(
      '2026-11-30T01:02:03Z',
    );
    // @ts-expect-error Date.now() is milliseconds, not a stored time: the type refuses it,
    // which is what `toil status` once got wrong (it printed the year 58882).
    expect(isoTime(Date.now())).toMatch(/^\+05\d{4}-/);
    const dead = deadPid();
    expect(classifyLeader(localLeader(dead, { startedAt: epochSecondsNow() })).kind).toBe(
      'local-dead',
    );
  });
});
