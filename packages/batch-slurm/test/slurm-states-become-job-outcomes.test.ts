import {
  outcomeOf,
  parseSacct,
  parseSacctCpu,
  parseSacctMemory,
  parseScontrolJobs,
  parseSqueue,
} from '@toil/batch-slurm';

// Outputs of Slurm 22.05 on this machine (see tooling/test-env/slurm.sh).
const SACCT = [
  '2|COMPLETED|0:0|0',
  '1|FAILED|3:0|4',
  '1.batch|FAILED|3:0|4',
  '3|FAILED|0:9|1',
  '5|CANCELLED by 0|0:0|12',
  '6|TIMEOUT|0:0|76',
  '',
].join('\n');

const SCONTROL = [
  'JobId=5 JobName=toil_wf_j_Job UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901756 Nice=0 Account=(null) QOS=(null) JobState=OUT_OF_MEMORY Reason=OutOfMemory Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:125 RunTime=00:00:01 TimeLimit=UNLIMITED',
  'JobId=7 JobName=wrap UserId=root(0) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=143:0 RunTime=00:01:16 TimeLimit=00:01:00',
  'JobId=8 JobName=wrap JobState=RUNNING Reason=None ExitCode=0:0 RunTime=1-00:00:02',
].join('\n');

describe('Slurm output parsing', () => {
  it('reads sacct lines, skipping job steps and keeping the base state', () => {
    const jobs = parseSacct(SACCT);
    expect([...jobs.keys()]).toEqual(['2', '1', '3', '5', '6']);
    expect(jobs.get('1')).toEqual({
      id: '1',
      state: 'FAILED',
      exitStatus: 3,
      signal: 0,
      wallTime: 4,
    });
    expect(jobs.get('5')?.state).toBe('CANCELLED');
  });

  it("reads CPU time from the job's line and peak memory from its steps when accounting storage has them", () => {
    // sacct's documented formats (the test cluster has no accounting storage: TotalCPU and
    // MaxRSS are empty there, as in the lines above).
    const jobs = parseSacct(
      [
        '42|COMPLETED|0:0|3|00:01.612|',
        '42.batch|COMPLETED|0:0|3|00:01.600|80592K',
        '42.extern|COMPLETED|0:0|3|00:00.012|1.5M',
        '43|FAILED|1:0|7300|1-02:03:04|',
        '44|COMPLETED|0:0|0||',
        '',
      ].join('\n'),
    );
    expect(jobs.get('42')).toMatchObject({ cpuTime: 1.612, peakMemory: 80592 * 1024 });
    expect(jobs.get('43')?.cpuTime).toBe(86400 + 2 * 3600 + 3 * 60 + 4);
    expect(jobs.get('44')).not.toHaveProperty('cpuTime');
    expect(jobs.get('44')).not.toHaveProperty('peakMemory');
    expect(parseSacctCpu('01:02:03')).toBe(3723);
    expect(parseSacctCpu('')).toBeUndefined();
    expect(parseSacctMemory('2G')).toBe(2 * 2 ** 30);
    expect(parseSacctMemory('0')).toBe(0);
    expect(parseSacctMemory('n/a')).toBeUndefined();
  });

  it('reads scontrol -o show job lines', () => {
    const jobs = parseScontrolJobs(SCONTROL);
    expect(jobs.get('5')).toEqual({
      id: '5',
      state: 'OUT_OF_MEMORY',
      exitStatus: 0,
      signal: 125,
      reason: 'OutOfMemory',
      wallTime: 1,
    });
    expect(jobs.get('8')?.wallTime).toBe(86402);
  });

  it('reads squeue lines', () => {
    expect(parseSqueue('12|PENDING\n13|RUNNING\n\n')).toEqual(
      new Map([
        ['12', 'PENDING'],
        ['13', 'RUNNING'],
      ]),
    );
  });
});

describe('a finished Slurm job', () => {
  const job = (state: string, exitStatus = 0, signal = 0, reason?: string) =>
    outcomeOf({ id: '9', state, exitStatus, signal, ...(reason ? { reason } : {}) });

  it('succeeded only when COMPLETED with exit 0', () => {
    expect(job('COMPLETED')).toEqual({ exitCode: 0 });
  });

  it.each([
    ['FAILED', 3, 0, undefined, 3, /^FAILED: Slurm job 9 exited with status 3$/],
    [
      'FAILED',
      0,
      9,
      'JobLaunchFailure',
      137,
      /killed by SIGKILL \(Slurm reason: JobLaunchFailure\)/,
    ],
    ['CANCELLED', 0, 0, undefined, 143, /^CANCELLED: .*cancelled/],
    ['CANCELLED', 0, 15, undefined, 143, /^CANCELLED/],
    ['TIMEOUT', 0, 0, undefined, 143, /^TIMEOUT: .*time limit/],
    ['TIMEOUT', 143, 0, 'TimeLimit', 143, /^TIMEOUT: .*time limit/],
    ['OUT_OF_MEMORY', 0, 125, 'OutOfMemory', 137, /^OUT_OF_MEMORY: .*memory/],
    ['NODE_FAIL', 0, 0, undefined, 1, /^NODE_FAIL: .*node failed/],
    ['PREEMPTED', 0, 0, undefined, 143, /^PREEMPTED: .*preempted/],
    ['BOOT_FAIL', 0, 0, undefined, 1, /^BOOT_FAIL/],
  ])(
    '%s %d:%d (%s) ends with exit code %d and says why',
    (state, status, signal, reason, exitCode, text) => {
      const outcome = job(state, status, signal, reason);
      expect(outcome.exitCode).toBe(exitCode);
      expect(outcome.reason).toMatch(text);
    },
  );
});
