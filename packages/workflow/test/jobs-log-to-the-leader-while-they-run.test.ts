import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_MESSAGE_CHARS, MESSAGE_RATE, RealtimeLogger } from '@toil/workflow';
import { MessageLimiter } from '../src/realtime-log.js';
import type { LeaderMessage } from '@toil/jobstore';
import { REPO_ROOT } from '../../../tooling/test-env/cli.js';
import { runWorkflow, scratch, startWorkflow, waitFor } from './helpers.js';

const REALTIME = join(REPO_ROOT, 'packages', 'workflow', 'test', 'fixtures', 'realtime.ts');

describe("a job's log lines reach the leader while it runs (Toil's RealtimeLogger)", () => {
  it('shows RealtimeLogger, logToLeader and job.log lines before the job ends', async () => {
    const dir = scratch();
    const flag = join(dir, 'flag');
    const run = startWorkflow(REALTIME, [
      `file:${join(dir, 'store')}`,
      '--case',
      'waits',
      '--flag',
      flag,
    ]);
    let stderr = '';
    run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // The job waits for the flag, so these lines can only be seen if they arrive as it runs.
    await waitFor(
      'the running job’s lines in the leader’s log',
      () =>
        stderr.includes('realtime: the job is halfway') &&
        stderr.includes('realtime: logToLeader while running') &&
        stderr.includes('realtime: job.log while running'),
      120_000,
    );
    expect(stderr).not.toContain('the job saw the flag');
    writeFileSync(flag, '');
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\[W\].*realtime: logToLeader while running/);
    expect(result.stderr).toMatch(/\[W\].*realtime: job.log while running/);
    expect(result.stderr.indexOf('the job is halfway')).toBeLessThan(
      result.stderr.indexOf('the job saw the flag'),
    );
  }, 180_000);

  it('bounds a chatty job and says how many lines it did not pass on', async () => {
    const dir = scratch();
    const result = await runWorkflow(REALTIME, [`file:${join(dir, 'store')}`, '--case', 'flood']);
    expect(result.code).toBe(0);
    const shown = result.stderr.split('\n').filter((l) => l.includes('flood line '));
    expect(shown.length).toBeGreaterThanOrEqual(MESSAGE_RATE.burst);
    expect(shown.length).toBeLessThan(5000);
    const dropped = [...result.stderr.matchAll(/(\d+) message\(s\) from this job were not sent/g)];
    expect(dropped.length).toBeGreaterThan(0);
    // Every line is either shown or counted (the 20,000-character line too, cut or counted).
    const counted = dropped.reduce((sum, m) => sum + Number(m[1]), 0);
    expect(shown.length + counted).toBe(5001);
  }, 120_000);

  it('refuses RealtimeLogger outside a job', () => {
    expect(() => RealtimeLogger.info('x')).toThrow(
      'RealtimeLogger was used outside a running job.',
    );
  });
});

describe('MessageLimiter', () => {
  function limiter(): {
    sent: LeaderMessage[];
    limiter: MessageLimiter;
    advance(ms: number): void;
  } {
    let now = 0;
    const sent: LeaderMessage[] = [];
    return {
      sent,
      limiter: new MessageLimiter(
        'job-1',
        (m) => sent.push(m),
        () => now,
      ),
      advance(ms: number) {
        now += ms;
      },
    };
  }

  it('passes a burst, then the steady rate, and reports what it dropped once sending resumes', () => {
    const t = limiter();
    for (let i = 0; i < MESSAGE_RATE.burst + 10; i++) t.limiter.send(`m${i}`, 'info');
    expect(t.sent).toHaveLength(MESSAGE_RATE.burst);
    t.advance(1000);
    t.limiter.send('after a second', 'info');
    expect(t.sent.at(-2)).toMatchObject({
      level: 'warning',
      text: `10 message(s) from this job were not sent (more than ${MESSAGE_RATE.perSecond}/s).`,
      jobId: 'job-1',
    });
    expect(t.sent.at(-1)).toMatchObject({ text: 'after a second', jobId: 'job-1' });
    expect(typeof t.sent.at(-1)!.time).toBe('number');
  });

  it('cuts a long text and says how much it cut', () => {
    const t = limiter();
    t.limiter.send('y'.repeat(MAX_MESSAGE_CHARS + 5), 'error');
    expect(t.sent[0]!.text).toBe(`${'y'.repeat(MAX_MESSAGE_CHARS)}… (5 more characters not sent)`);
  });
});
