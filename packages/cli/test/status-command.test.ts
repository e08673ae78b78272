import { writeFileSync } from 'node:fs';
import { epochSecondsNow, epochSecondsOf, openJobStore } from '@toil/jobstore';
import { runToil } from '../../../tooling/test-env/cli.js';
import {
  buildStore,
  buildStoreWithRootJob,
  deadPid,
  jobRecord,
  localLeader,
  remoteLeader,
  summary,
  useScratchDir,
  withFakeLeader,
} from '../../stats/test/stores.js';

const COMPLETED = 'The root job of the job store is absent, the workflow completed successfully.';

describe('toil status', () => {
  const scratch = useScratchDir();

  it('says a finished workflow completed, and exits 0 even with --failIfNotComplete', async () => {
    const store = await buildStore(`file:${scratch('done')}`, {
      rootId: 'root-gone',
      leader: localLeader(deadPid()),
      outcome: { result: 'succeeded', attempt: 0, time: epochSecondsNow(), failedJobs: [] },
    });
    const result = await runToil(['status', store, '--failIfNotComplete']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${COMPLETED}\n`);
  });

  it('prints the summary line from the summary, and tells a failed run apart', async () => {
    const store = await buildStore(`file:${scratch('failed')}`, {
      rootId: 'root',
      jobs: [
        jobRecord('root', 'sysFiles', { children: ['boom'], state: 'waiting' }),
        jobRecord('boom', 'boom', { remainingTryCount: 0, state: 'failed', logFileId: undefined }),
      ],
      leader: localLeader(deadPid()),
      outcome: {
        result: 'failed',
        attempt: 0,
        time: epochSecondsNow(),
        failedJobs: [{ id: 'boom', name: 'boom' }],
      },
      summary: summary({ unfinished: 2, withChildren: 1, totallyFailed: 1 }),
    });
    const plain = await runToil(['status', store]);
    expect(plain.code).toBe(0);
    const lines = plain.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      `There are 2 unfinished jobs, 1 parent jobs with children, 0 jobs with services, 0 services, and 1 totally failed jobs currently in ${store}.`,
    );
    expect(lines[1]).toMatch(
      /^The workflow failed \(attempt 0, ended .*\): 1 totally failed jobs \(boom\)\./,
    );
    expect((await runToil(['status', store, '--failIfNotComplete'])).code).toBe(1);

    const failed = await runToil(['status', store, '--failed']);
    expect(failed.stdout).toMatch(
      /^JOB:'boom' boom v1\tSTATE:totally failed\tTRYS_REMAINING:0\tCHILD_NUMBER:0$/m,
    );
    expect(failed.stdout).not.toContain("JOB:'sysFiles'");
  });

  it('tells a store that never started, a dead leader and a killed run apart in words', async () => {
    const never = await buildStore(`file:${scratch('never')}`);
    const neverResult = await runToil(['status', never, '--failIfNotComplete']);
    expect(neverResult.stdout).toContain('has not started');
    expect(neverResult.code).toBe(1);

    const died = await buildStoreWithRootJob(`file:${scratch('died')}`, {
      leader: localLeader(deadPid()),
      summary: summary({ unfinished: 1, ready: 1 }),
    });
    const diedResult = await runToil(['status', died]);
    expect(diedResult.stdout).toContain('stopped without recording how the run ended');
    expect(diedResult.stdout).toContain('--restart');

    const killed = await buildStoreWithRootJob(`file:${scratch('killed')}`, {
      leader: localLeader(deadPid()),
      outcome: { result: 'killed', attempt: 0, time: epochSecondsNow(), failedJobs: [] },
    });
    const killedResult = await runToil(['status', killed]);
    expect(killedResult.stdout).toContain('The workflow was killed (attempt 0');
    // No summary was written: the counts come from a walk over the jobs.
    expect(killedResult.stdout).toContain('There are 1 unfinished jobs');
  });

  it('names the pid and host of a running leader', async () => {
    const locator = `file:${scratch('running')}`;
    await withFakeLeader({ locator }, async ({ child }) => {
      await buildStore(locator, {
        rootId: 'root',
        jobs: [jobRecord('root', 'root', { state: 'running' })],
        leader: localLeader(child.pid!),
        summary: summary({ unfinished: 1, running: 1 }),
      });
      const result = await runToil(['status', locator, '--json']);
      expect(result.code).toBe(0);
      const json = JSON.parse(result.stdout) as Record<string, any>;
      expect(json.schema).toBe('toil-ts/status');
      expect(json.version).toBe(1);
      expect(json.state).toBe('running');
      expect(json.countsSource).toBe('summary');
      expect(json.message).toContain(`its leader is process ${child.pid} on `);
    });
  });

  it("says when a remote leader's counts were last updated, in this century", async () => {
    const updatedAt = epochSecondsOf(new Date(Date.UTC(2026, 10, 30, 1, 2, 3)));
    const store = await buildStoreWithRootJob(`file:${scratch('remote-summary')}`, {
      leader: remoteLeader(12345),
      summary: summary({ unfinished: 1, updatedAt }),
    });
    const result = await runToil(['status', store]);
    expect(result.stdout).toContain('Its job counts were last updated 2026-11-30T01:02:03Z.');
    const json = JSON.parse((await runToil(['status', store, '--json'])).stdout) as {
      countsUpdatedAt: number;
    };
    expect(json.countsUpdatedAt).toBe(updatedAt * 1000);
  });

  it("shows a cluster leader's nodes by type and state", async () => {
    const nodes = [
      { type: 'c5.large', state: 'idle' as const, count: 1 },
      { type: 't3.medium', state: 'busy' as const, count: 2 },
      { type: 't3.medium', state: 'booting' as const, count: 1 },
    ];
    const store = await buildStoreWithRootJob(`file:${scratch('remote-nodes')}`, {
      leader: remoteLeader(12345),
      summary: summary({ unfinished: 3, running: 2, nodes }),
    });
    const result = await runToil(['status', store]);
    expect(result.stdout).toContain('Nodes: c5.large 1 idle; t3.medium 2 busy, 1 booting.\n');
    const json = JSON.parse((await runToil(['status', store, '--json'])).stdout) as {
      nodes: unknown;
    };
    expect(json.nodes).toEqual(nodes);
  });

  it("shows what a launched cluster's elastic nodes cost so far, and after the run what they cost during it", async () => {
    const cost = {
      usd: 0.0139,
      byType: [
        { type: 't2.medium', spot: true, hours: 1, usd: 0.0139 },
        { type: 't3.large', spot: false, hours: 0.5, noPrice: 'the Price List API: 404' },
      ],
    };
    const running = await buildStoreWithRootJob(`file:${scratch('remote-cost')}`, {
      leader: remoteLeader(12345),
      summary: summary({
        unfinished: 3,
        running: 2,
        nodes: [{ type: 't2.medium', state: 'busy', count: 1 }],
        cost,
      }),
    });
    const line =
      "$0.01 (t2.medium spot 1.00 h at $0.0139/h); no price for t3.large from the cloud's API (the Price List API: 404).";
    expect((await runToil(['status', running])).stdout).toContain(
      `Nodes: t2.medium 1 busy.\nCost of the cluster's elastic nodes so far: ${line}\n`,
    );
    expect(JSON.parse((await runToil(['status', running, '--json'])).stdout).cost).toEqual(cost);
    const done = await buildStore(`file:${scratch('done-cost')}`, {
      rootId: 'root-gone',
      leader: localLeader(deadPid()),
      outcome: { result: 'succeeded', attempt: 0, time: epochSecondsNow(), failedJobs: [] },
      summary: summary({ unfinished: 0, cost }),
    });
    expect((await runToil(['status', done])).stdout).toBe(
      `Cost of the cluster's elastic nodes during the run: ${line}\n${COMPLETED}\n`,
    );
  });

  it('says when the leader is on another machine', async () => {
    const store = await buildStoreWithRootJob(`file:${scratch('remote')}`, {
      leader: remoteLeader(12345),
    });
    const result = await runToil(['status', store]);
    expect(result.stdout).toContain(
      "The workflow's leader is process 12345 on node-7, another machine",
    );
  });

  it('prints jobs, children, logs and a dot graph with unique node ids', async () => {
    const locator = `file:${scratch('graph')}`;
    await buildStore(locator, {
      rootId: 'root',
      jobs: [
        jobRecord('root', 'discoverFiles', { children: ['a', 'b'], state: 'waiting' }),
        jobRecord('a', 'discoverFiles', { state: 'running', batchId: '17' }),
        jobRecord('b', 'boom', { remainingTryCount: 0, state: 'failed', version: 3 }),
      ],
      leader: localLeader(deadPid()),
    });
    const logFile = scratch('boom.log');
    writeFileSync(logFile, 'boom is about to raise\nError: deliberate failure\n');
    const store = await openJobStore(locator);
    const fileId = await store.writeFile(logFile, { jobId: 'b' });
    await store.commit([
      {
        op: 'put',
        record: jobRecord('b', 'boom', {
          remainingTryCount: 0,
          state: 'failed',
          version: 3,
          logFileId: fileId,
        }),
      },
    ]);
    await store.close();

    const jobs = await runToil(['status', locator, '--printJobs']);
    expect(jobs.code).toBe(0);
    expect(jobs.stdout).toContain(
      "JOB:'discoverFiles' a v1\tSTATE:running\tTRYS_REMAINING:2\tCHILD_NUMBER:0",
    );
    expect(jobs.stdout).toContain(
      "JOB:'discoverFiles' root v1\tSTATE:waiting\tTRYS_REMAINING:2\tCHILD_NUMBER:2",
    );
    expect(jobs.stdout).toContain(`There are 3 unfinished jobs, 1 parent jobs with children`);

    const children = await runToil(['status', locator, '--printChildren']);
    expect(children.stdout).toContain(
      "CHILDREN_OF_JOB:'discoverFiles' root v1 \t(CHILD_JOB:a,PRECEDENCE:0)\t(CHILD_JOB:b,PRECEDENCE:0)",
    );

    const logs = await runToil(['status', locator, '--printLogs', '--failed']);
    expect(logs.stdout).toContain(
      `Log from job "'boom' b v3" follows:\n=========>\n\tboom is about to raise\n\tError: deliberate failure\n<=========\n`,
    );

    const running = await runToil(['status', locator, '--printStatus']);
    expect(running.stdout).toContain(
      'Job ID a with name discoverFiles is running on single_machine as ID 17.\n',
    );
    expect(running.stdout).not.toContain('Job ID b ');

    const dot = await runToil(['status', locator, '--printDot']);
    const nodes = dot.stdout.split('\n').filter((l) => l.includes('[label="discoverFiles'));
    expect(nodes).toHaveLength(2);
    expect(dot.stdout).toContain('"b" [label="boom b", color="red"];');
    expect(dot.stdout).toContain('"a" [label="discoverFiles a", color="blue"];');
    expect(dot.stdout).toContain('"root" -> "a" [label="0"];');
    expect(dot.stdout).toMatch(/^digraph toil_graph \{$/m);
  });

  it('fails with one line on a missing store and on an unknown --jobs id', async () => {
    const missing = await runToil(['status', `file:${scratch('nothing')}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('There is no job store at');
    const store = await buildStoreWithRootJob(`file:${scratch('ids')}`);
    const unknown = await runToil(['status', store, '--jobs', 'nosuch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('The job nosuch is not in');
    const known = await runToil(['status', store, '--jobs', 'root', '--printJobs']);
    expect(known.stdout).toContain("JOB:'root' root v1");
  });
});
