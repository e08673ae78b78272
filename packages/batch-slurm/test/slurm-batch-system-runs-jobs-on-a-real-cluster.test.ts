import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBatchSystem, SlurmBatchSystem } from '@toil/batch-slurm';
import {
  acquireSlurm,
  describeWithSlurm,
  queuedSlurmJobs,
  releaseSlurm,
  slurmCommand,
  SLURM_CONF,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';
import { rejectedToilError } from '../../../tooling/test-env/errors.js';
import { commandJob, nodeJob, slurmContext, waitForAll } from './slurm-context.js';

function withEnv<T>(changes: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(changes).map((k) => [k, process.env[k]]));
  Object.assign(process.env, changes);
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

describeWithSlurm('the Slurm batch system on a real single-node cluster', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('runs attempts with their exact argv and environment and reports exit codes (scontrol fallback)', async () => {
    const context = slurmContext({ slurmPollInterval: 0.25 });
    const batch = await createBatchSystem(context);
    const capture = join(context.workDir, 'capture.json');
    const argv = ["it's", '$HOME', '`id`', 'a b', '', 'new\nline', '; exit 7'];
    const ok = await batch.submit(
      nodeJob(
        'require("fs").writeFileSync(process.argv[1], JSON.stringify({ argv: process.argv.slice(2), env: process.env.TOIL_TEST_VALUE }))',
        [capture, ...argv],
        { env: { TOIL_TEST_VALUE: "v'al $x" } },
      ),
    );
    const failing = await batch.submit(nodeJob('process.exit(3)', [], { name: 'FailingJob' }));
    const signalled = await batch.submit(commandJob(['sh', '-c', 'kill -9 $$']));
    expect(batch.running().sort()).toEqual([ok, failing, signalled].sort());

    const done = await waitForAll(batch, [ok, failing, signalled]);
    expect(done.get(ok)).toMatchObject({ exitCode: 0, jobId: expect.any(String) });
    expect(done.get(ok)?.reason).toBeUndefined();
    expect(JSON.parse(readFileSync(capture, 'utf8'))).toEqual({ argv, env: "v'al $x" });
    expect(done.get(failing)).toMatchObject({
      exitCode: 3,
      failure: 'job-error',
      reason: expect.stringMatching(/^FAILED: Slurm job \d+ exited with status 3/),
    });
    expect(done.get(signalled)).toMatchObject({
      exitCode: 137,
      failure: 'killed',
      reason: expect.stringContaining('SIGKILL'),
    });
    expect(batch.running()).toEqual([]);
    // accounting_storage/none: plain sacct fails and the batch system switched to scontrol.
    expect(context.host.events.some((e) => e.code === 'SLURM_SACCT_UNAVAILABLE')).toBe(true);
    await batch.shutdown();
  });

  it('reads final states through sacct when accounting answers (sacct -c on the job-completion log)', async () => {
    const context = slurmContext({ slurmPollInterval: 0.25, slurmStateSource: 'sacct-completion' });
    const batch = await createBatchSystem(context);
    const ok = await batch.submit(commandJob(['true']));
    const failing = await batch.submit(commandJob(['sh', '-c', 'exit 5']));
    const signalled = await batch.submit(commandJob(['sh', '-c', 'kill -9 $$']));
    const done = await waitForAll(batch, [ok, failing, signalled]);
    expect([
      done.get(ok)?.exitCode,
      done.get(failing)?.exitCode,
      done.get(signalled)?.exitCode,
    ]).toEqual([0, 5, 137]);
    expect(context.host.events.filter((e) => /SACCT|SCONTROL/.test(e.code))).toEqual([]);
    await batch.shutdown();
  });

  it('passes cores, memory, partition, time and extra arguments to sbatch, and kill leaves nothing in squeue', async () => {
    const context = slurmContext({ slurmPartition: 'other', slurmArgs: "--comment 'two words'" });
    const batch = await createBatchSystem(context);
    const id = await batch.submit(
      commandJob(['sleep', '300'], {
        name: 'Sleeper',
        requirements: {
          cores: 2,
          memory: 300 * 2 ** 20,
          disk: 0,
          preemptible: false,
          runtime: 600,
        },
      }),
    );
    const info = slurmCommand(['scontrol', '-o', 'show', 'job', id]);
    expect(info).toMatch(/ NumCPUs=2 /);
    expect(info).toMatch(/ MinMemoryNode=300M /);
    expect(info).toMatch(/ Partition=other /);
    expect(info).toMatch(/ TimeLimit=00:10:00 /);
    expect(info).toMatch(/ Comment=two words /);
    expect(info).toMatch(/ JobName=toil_[0-9a-f]{8}_job-\d+_Sleeper /);
    await batch.kill([id]);
    expect(queuedSlurmJobs()).not.toContain(id);
    expect(batch.running()).toEqual([]);
    expect(await batch.poll(0)).toEqual([]);
  });

  it("cancels a previous leader's jobs from a fresh instance (killStale); ids already gone are no error", async () => {
    const previous = await createBatchSystem(slurmContext({ slurmPollInterval: 0.25 }));
    const stale = await previous.submit(commandJob(['sleep', '600'], { name: 'Stale' }));
    const ended = await previous.submit(commandJob(['true']));
    await waitForAll(previous, [ended]);
    expect(queuedSlurmJobs()).toContain(stale);
    // The previous leader was SIGKILLed: its instance is abandoned, never shut down.
    const context = slurmContext({ slurmPollInterval: 0.25 });
    const restarted = await createBatchSystem(context);
    await restarted.killStale([stale, ended, 'not-a-slurm-id']);
    expect(queuedSlurmJobs()).not.toContain(stale);
    expect(restarted.running()).toEqual([]);
    expect(context.host.events.find((e) => e.code === 'SLURM_STALE_ID_INVALID')?.data).toEqual({
      batchIds: ['not-a-slurm-id'],
    });
    // Both already gone: still no error.
    await restarted.killStale([stale, ended]);
    await restarted.shutdown();
    await previous.shutdown();
  });

  it('cancels every job it still runs on shutdown', async () => {
    const batch = await createBatchSystem(slurmContext());
    const ids = await Promise.all(
      [1, 2, 3, 4].map(() => batch.submit(commandJob(['sleep', '300']))),
    );
    await batch.shutdown();
    const queued = queuedSlurmJobs();
    expect(ids.filter((id) => queued.includes(id))).toEqual([]);
    await expect(batch.submit(commandJob(['true']))).rejects.toThrow(/shut down/);
  });

  it('reports a job killed for memory as OUT_OF_MEMORY with its Slurm output', async () => {
    const batch = await createBatchSystem(slurmContext({ slurmPollInterval: 0.25 }));
    const id = await batch.submit(
      nodeJob('const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));', [], {
        requirements: { cores: 1, memory: 150 * 2 ** 20, disk: 0, preemptible: false },
      }),
    );
    const done = await waitForAll(batch, [id]);
    expect(done.get(id)).toMatchObject({
      exitCode: 137,
      reason: expect.stringMatching(
        /^OUT_OF_MEMORY: Slurm job \d+ ran out of memory[\s\S]*Slurm output: .*\.err/,
      ),
    });
    await batch.shutdown();
  });

  it('names the job and quotes Slurm when it rejects a submission', async () => {
    const batch = await createBatchSystem(slurmContext());
    const error = await rejectedToilError(
      batch.submit(
        commandJob(['true'], {
          name: 'Greedy',
          jobId: 'greedy-1',
          requirements: { cores: 1, memory: 2 ** 50, disk: 0, preemptible: false },
        }),
      ),
    );
    expect(error.code).toBe('BATCH_SUBMIT_FAILED');
    expect(error.message).toMatch(/Greedy \(greedy-1\).*Memory specification can not be satisfied/);
    expect(error.hint).toBeTruthy();
    await batch.shutdown();
  });

  it('rejects a partition the cluster does not have', async () => {
    const error = await rejectedToilError(
      createBatchSystem(slurmContext({ slurmPartition: 'nope' })),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.hint).toMatch(/debug/);
  });

  it('says BATCH_SYSTEM_UNAVAILABLE when sbatch is missing', async () => {
    const batch = await createBatchSystem(slurmContext());
    const empty = mkdtempSync(join(SLURM_OUTPUT_DIR, 'empty-path-'));
    const [atStart, atIssue] = await withEnv({ PATH: empty }, () =>
      Promise.all([
        rejectedToilError(createBatchSystem(slurmContext())),
        rejectedToilError(
          batch.submit(commandJob(['true'], { name: 'Lonely', jobId: 'lonely-1' })),
        ),
      ]),
    );
    expect(atStart.code).toBe('BATCH_SYSTEM_UNAVAILABLE');
    expect(atStart.message).toMatch(/sinfo is not installed/);
    expect(atIssue.code).toBe('BATCH_SYSTEM_UNAVAILABLE');
    expect(atIssue.message).toMatch(/Lonely \(lonely-1\).*sbatch is not installed/);
    await batch.shutdown();
  });

  it("says BATCH_SYSTEM_UNAVAILABLE with Slurm's message when the controller is unreachable", async () => {
    const dir = mkdtempSync(join(SLURM_OUTPUT_DIR, 'unreachable-'));
    const conf = join(dir, 'slurm.conf');
    writeFileSync(
      conf,
      readFileSync(SLURM_CONF, 'utf8').replace(/^ClusterName=.*$/m, '$&\nSlurmctldPort=6999'),
    );
    writeFileSync(
      join(dir, 'cgroup.conf'),
      readFileSync(join(SLURM_CONF, '..', 'cgroup.conf'), 'utf8'),
    );
    const unstarted = new SlurmBatchSystem(slurmContext());
    const [atStart, atIssue] = await withEnv({ SLURM_CONF: conf }, () =>
      Promise.all([
        rejectedToilError(createBatchSystem(slurmContext())),
        rejectedToilError(
          unstarted.submit(commandJob(['true'], { name: 'Stranded', jobId: 'stranded-1' })),
        ),
      ]),
    );
    expect(atStart.code).toBe('BATCH_SYSTEM_UNAVAILABLE');
    expect(atStart.message).toMatch(/Unable to contact slurm controller/);
    expect(atIssue.code).toBe('BATCH_SYSTEM_UNAVAILABLE');
    expect(atIssue.message).toMatch(/Stranded \(stranded-1\).*Unable to contact slurm controller/);
  });

  it("reports an attempt as soon as its worker creates the success marker, while Slurm still runs it and long before the queue's next look, with what the worker wrote in it", async () => {
    // A worker that says it succeeded (and what it stored, as the engine's worker does), then
    // lingers (as one exiting would).
    const marker = 'printf \'{"result":{"record":null}}\' > "$M.tmp"; mv "$M.tmp" "$M"';
    const context = {
      ...slurmContext({ slurmPollInterval: 3600 }),
      workerCommand: [
        'sh',
        '-c',
        `M="$TOIL_WORKER_SUCCESS_MARKER"; ${marker}; exec sleep 300`,
        'worker',
      ],
    };
    const batch = await createBatchSystem(context);
    const job = commandJob([]);
    const id = await batch.issue({
      jobId: job.jobId,
      name: job.name,
      requirements: job.requirements,
      invocation: {
        jobStore: 'file:/nonexistent',
        jobId: job.jobId,
        workflow: { source: '/x.mjs' },
      },
      env: {},
    });
    const deadline = Date.now() + 60_000;
    let finished: Awaited<ReturnType<typeof batch.poll>> = [];
    while (finished.length === 0 && Date.now() < deadline) finished = await batch.poll(1000);
    expect(finished).toEqual([
      expect.objectContaining({ batchId: id, exitCode: 0, local: { result: { record: null } } }),
    ]);
    expect(queuedSlurmJobs()).toContain(id);
    await batch.shutdown();
    // Reported, so no longer the batch system's: cancelled as a stale job would be.
    await new SlurmBatchSystem(slurmContext()).killStale([id]);
    expect(queuedSlurmJobs()).not.toContain(id);
  });

  it('looks at the queue once per poll interval for all jobs, not once per job', async () => {
    // Wrappers that log each call and run the real command.
    const bin = mkdtempSync(join(SLURM_OUTPUT_DIR, 'bin-'));
    const log = join(bin, 'calls.log');
    writeFileSync(log, '');
    for (const command of ['squeue', 'sacct', 'scontrol', 'sinfo']) {
      const real = slurmCommand(['sh', '-c', `command -v ${command}`]).trim();
      writeFileSync(
        join(bin, command),
        `#!/bin/sh\necho ${command} >> '${log}'\nexec '${real}' "$@"\n`,
      );
      chmodSync(join(bin, command), 0o755);
    }
    const calls = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    await withEnv({ PATH: `${bin}:${process.env.PATH}` }, async () => {
      // However often the leader polls, the queue is read once per interval, the first time an
      // interval after the first job (a job just submitted has nothing to show there yet).
      const slow = await createBatchSystem(slurmContext({ slurmPollInterval: 3600 }));
      // start()'s one sinfo (partitions and nodes) is also the first node view.
      const views = await Promise.all([slow.scaling.nodes(), slow.scaling.nodes()]);
      expect(views[0]!.length).toBeGreaterThan(0);
      await Promise.all(Array.from({ length: 5 }, () => slow.submit(commandJob(['sleep', '300']))));
      for (let i = 0; i < 50; i++) await slow.poll(0);
      expect(calls()).toEqual(['sinfo']);
      await slow.shutdown();

      // Ten jobs that ended since the last look cost one squeue, one sacct and one scontrol.
      const batch = await createBatchSystem(slurmContext({ slurmPollInterval: 0.001 }));
      const ids = await Promise.all(
        Array.from({ length: 10 }, () => batch.submit(commandJob(['true']))),
      );
      const deadline = Date.now() + 60_000;
      while (queuedSlurmJobs().some((id) => ids.includes(id))) {
        if (Date.now() > deadline) throw new Error('jobs did not leave the queue');
        await new Promise((r) => setTimeout(r, 100));
      }
      writeFileSync(log, '');
      const finished = await batch.poll(0);
      expect(finished.map((f) => f.batchId).sort()).toEqual([...ids].sort());
      expect(finished.every((f) => f.exitCode === 0)).toBe(true);
      expect(calls().sort()).toEqual(['sacct', 'scontrol', 'squeue']);
      await batch.shutdown();

      // Workers that created their success marker before they exited: the look that finds them
      // gone reads their markers, and asks neither sacct nor scontrol.
      const marked = await createBatchSystem({
        ...slurmContext({ slurmPollInterval: 0.001 }),
        workerCommand: ['sh', '-c', 'M="$TOIL_WORKER_SUCCESS_MARKER"; echo {} > "$M"', 'worker'],
      });
      const markedIds = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          marked.issue({
            jobId: `marked-${i}`,
            name: 'Marked',
            requirements: commandJob([]).requirements,
            invocation: {
              jobStore: 'file:/nonexistent',
              jobId: `marked-${i}`,
              workflow: { source: '/x.mjs' },
            },
            env: {},
          }),
        ),
      );
      while (queuedSlurmJobs().some((id) => markedIds.includes(id))) {
        if (Date.now() > deadline + 60_000) throw new Error('jobs did not leave the queue');
        await new Promise((r) => setTimeout(r, 100));
      }
      writeFileSync(log, '');
      const reported = await marked.poll(0);
      expect(reported.map((f) => f.batchId).sort()).toEqual([...markedIds].sort());
      expect(reported.every((f) => f.exitCode === 0)).toBe(true);
      expect(calls()).toEqual(['squeue']);
      await marked.shutdown();
    });
  });
});
