/// <reference types="jest" />
/**
 * The contract test suite every {@link JobStore} backend must pass. Call
 * {@link describeJobStoreContract} from a jest test file with a backend description.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { ToilError, RecordingHost } from '@toil/core';
import type { JobStore } from './contract.js';
import {
  epochSecondsNow,
  type EpochSeconds,
  type JobRecord,
  type StatsRecord,
  type WorkflowConfig,
} from './records.js';

/** What the contract suite needs to know about a backend. */
export interface ContractBackend {
  /** A locator of a store that does not exist yet, different on every call. */
  newLocator(): string;
  /** Opens (without I/O) a store; normally `openJobStore(locator, ...)`. */
  open(locator: string): Promise<JobStore>;
  /**
   * Replaces the stored form of a job record with `content` (raw text), the way a disk
   * error or a foreign tool would. Returns the path or key that an error must name.
   */
  overwriteJobRecord(locator: string, jobId: string, content: string): Promise<string>;
  /** Leaves a store half-created, as a creator killed after its first write would. */
  halfCreate(locator: string): Promise<void>;
  /** Jobs created by the listing test (at least 10,000 by default). */
  listingJobs?: number;
  /** Environment for child processes (e.g. the S3 endpoint). Defaults to `process.env`. */
  childEnv?: NodeJS.ProcessEnv;
}

/** A complete workflow config for tests. */
export function sampleConfig(overrides: Partial<WorkflowConfig> = {}): WorkflowConfig {
  return {
    format: 1,
    workflowId: randomBytes(8).toString('hex'),
    attempt: 0,
    createdAt: epochSecondsNow(),
    toilVersion: '0.0.0-test',
    batchSystem: 'single_machine',
    defaultCores: 1,
    defaultMemory: 2 ** 30,
    defaultDisk: 2 ** 30,
    maxCores: null,
    maxMemory: null,
    maxDisk: null,
    retryCount: 1,
    stats: true,
    clean: 'onSuccess',
    cleanWorkDir: 'always',
    ...overrides,
  };
}

/** A valid job record for tests. */
export function sampleJob(id: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    v: 1,
    id,
    jobName: 'SampleJob',
    displayName: 'sample',
    version: 0,
    state: 'ready',
    requirements: { cores: 1, memory: 1024, disk: 1024, preemptible: false },
    checkpoint: false,
    remainingTryCount: 1,
    children: [],
    followOns: [],
    services: [],
    isService: false,
    predecessors: [],
    body: { module: 'x', args: [1, 'two'] },
    ...overrides,
  };
}

/** A valid worker stats record for tests. */
export function sampleStats(n: number): StatsRecord {
  return {
    v: 1,
    kind: 'worker',
    time: n as EpochSeconds,
    worker: {
      id: `w${n}`,
      host: 'localhost',
      pid: 1000 + n,
      time: n,
      clock: n,
      memory: 1024,
      requestedCores: 1,
      jobsRun: 1,
    },
    jobs: [],
    messages: [{ level: 'info', text: `message ${n}` }],
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function expectToilError(
  promise: Promise<unknown>,
  code: string,
  mentions?: string,
): Promise<ToilError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(ToilError.is(caught)).toBe(true);
  const error = caught as ToilError;
  expect(error.code).toBe(code);
  expect(error.message).not.toContain('\n');
  expect(error.hint).toBeTruthy();
  if (mentions) expect(error.message).toContain(mentions);
  return error;
}

function writerScript(): { argv: string[] } {
  // From src (jest, tsx) the writer is TypeScript; from dist it is the built module.
  const ts = __filename.endsWith('.ts');
  const script = join(__dirname, `testing-writer.${ts ? 'ts' : 'js'}`);
  return { argv: ts ? ['--import', 'tsx', script] : [script] };
}

/**
 * Runs a writer process on `jobCount` jobs, waits until it reported `minAcked` complete
 * iterations, SIGKILLs it and resolves to the last iteration it reported complete.
 */
function runAndKillWriter(
  locator: string,
  prefix: string,
  jobCount: number,
  fileId: string,
  minAcked: number,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const { argv } = writerScript();
    const child = spawn(process.execPath, [...argv, locator, prefix, String(jobCount), fileId], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let acked = 0;
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout!.on('data', (data: Buffer) => {
      stdout += data.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) {
        const match = /^acked (\d+)$/.exec(line);
        if (match) acked = Number(match[1]);
      }
      if (acked >= minAcked && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && killed) resolve(acked);
      else reject(new Error(`writer exited early (${code ?? signal}): ${stderr}`));
    });
  });
}

/**
 * Declares the shared contract tests for one backend. Every backend (`file:`, `aws:`) runs
 * this suite; a new backend is done when it passes.
 */
export function describeJobStoreContract(name: string, backend: ContractBackend): void {
  const env = (): NodeJS.ProcessEnv => backend.childEnv ?? process.env;

  describe(`JobStore contract: ${name}`, () => {
    let locator: string;
    let store: JobStore;
    let second: JobStore;
    let scratch: string;

    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'toil-contract-'));
      locator = backend.newLocator();
      store = await backend.open(locator);
      await store.create(sampleConfig({ workflowId: 'contract' }));
      second = await backend.open(locator);
      await second.resume();
    });

    afterAll(async () => {
      await store?.destroy();
      await store?.close();
      await second?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    describe('lifecycle', () => {
      it('resumes with the config it was created with, from another instance', async () => {
        const config = await second.resume();
        expect(config.workflowId).toBe('contract');
        expect(config).toEqual(sampleConfig({ ...config }));
        expect(await second.exists()).toBe(true);
      });

      it('refuses to create a store that exists, with a hint about --restart and toil clean', async () => {
        const again = await backend.open(locator);
        const error = await expectToilError(again.create(sampleConfig()), 'JOBSTORE_EXISTS');
        expect(error.hint).toMatch(/--restart/);
        expect(error.hint).toMatch(/toil clean/);
        await again.close();
      });

      it('refuses to resume a store that does not exist, and says how to create one', async () => {
        const missing = await backend.open(backend.newLocator());
        expect(await missing.exists()).toBe(false);
        const error = await expectToilError(missing.resume(), 'JOBSTORE_NOT_FOUND');
        expect(error.hint).toMatch(/locator/i);
        await missing.close();
      });

      it('lets exactly one of two concurrent creators win', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        const b = await backend.open(target);
        const results = await Promise.allSettled([
          a.create(sampleConfig({ workflowId: 'a' })),
          b.create(sampleConfig({ workflowId: 'b' })),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect((loser.reason as ToilError).code).toBe('JOBSTORE_EXISTS');
        const winner = results[0]!.status === 'fulfilled' ? 'a' : 'b';
        expect((await b.resume()).workflowId).toBe(winner);
        await a.destroy();
        await a.close();
        await b.close();
      });

      it('rewrites the config on restart', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        await a.create(sampleConfig());
        await a.writeConfig({ ...(await a.resume()), attempt: 3 });
        const b = await backend.open(target);
        expect((await b.resume()).attempt).toBe(3);
        await a.destroy();
        await a.close();
        await b.close();
      });

      it('destroys idempotently, also on a store that never existed', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        expect((await a.destroy()).existed).toBe(false);
        await a.create(sampleConfig());
        await a.commit([{ op: 'put', record: sampleJob('destroy-me') }]);
        const host = new RecordingHost();
        const report = await a.destroy(host);
        expect(report.existed).toBe(true);
        expect(report.deleted).toBeGreaterThan(0);
        expect(host.events.some((e) => e.span?.phase === 'end' && e.span.ok)).toBe(true);
        expect(await a.exists()).toBe(false);
        expect((await a.destroy()).existed).toBe(false);
        const fresh = await backend.open(target);
        expect((await fresh.destroy()).existed).toBe(false);
        await expectToilError(fresh.resume(), 'JOBSTORE_NOT_FOUND');
        // The same instance can make the store again after destroying it.
        await a.create(sampleConfig());
        await a.commit([{ op: 'put', record: sampleJob('second-life') }]);
        await a.appendStats(sampleStats(7));
        const other = await backend.open(target);
        expect((await other.loadJob('second-life')).id).toBe('second-life');
        expect(await collect(other.readStats())).toHaveLength(1);
        expect(await other.jobExists('destroy-me')).toBe(false);
        await a.destroy();
        await other.close();
        await a.close();
        await fresh.close();
      });

      it('refuses a half-created store on resume and destroys it', async () => {
        const target = backend.newLocator();
        await backend.halfCreate(target);
        const a = await backend.open(target);
        expect(await a.exists()).toBe(true);
        await expectToilError(a.resume(), 'JOBSTORE_CORRUPT');
        expect((await a.destroy()).existed).toBe(true);
        expect(await a.exists()).toBe(false);
        await a.close();
      });
    });

    describe('jobs', () => {
      it('starts without the jobs it is asked about', async () => {
        expect(await store.jobExists('nonexistent-job')).toBe(false);
        expect(await store.tryLoadJob('nonexistent-job')).toBeUndefined();
        await expectToilError(store.loadJob('nonexistent-job'), 'JOB_NOT_FOUND', 'nonexistent-job');
      });

      it('gives readable, unique job ids derived from the name', () => {
        const a = store.newJobId('Hello World/../x');
        const b = store.newJobId('Hello World/../x');
        expect(a).not.toBe(b);
        expect(a).toMatch(/^Hello_World_.._x-[0-9a-f]{12}$/);
        expect(store.newJobId('')).toMatch(/^UNPRINTABLE-/);
      });

      it('creates, loads from another instance, updates and deletes jobs', async () => {
        const parent = sampleJob(store.newJobId('Parent'));
        const child = sampleJob(store.newJobId('Child'), { predecessors: [parent.id] });
        await store.commit([
          { op: 'put', record: { ...parent, children: [child.id] } },
          { op: 'put', record: child },
        ]);
        expect(await second.loadJob(parent.id)).toEqual({ ...parent, children: [child.id] });
        await store.commit([
          { op: 'put', record: { ...child, version: 1, state: 'running', batchId: '42' } },
        ]);
        const loaded = await second.loadJob(child.id);
        expect(loaded.version).toBe(1);
        expect(loaded.batchId).toBe('42');
        await second.commit([{ op: 'delete', id: parent.id }]);
        expect(await store.jobExists(parent.id)).toBe(false);
        expect(await store.jobExists(child.id)).toBe(true);
        await store.commit([{ op: 'delete', id: child.id }]);
        expect(await second.tryLoadJob(child.id)).toBeUndefined();
      });

      it("shows a commit that waited only until 'written' to another instance at once", async () => {
        const id = store.newJobId('Written');
        await store.commit([{ op: 'put', record: sampleJob(id) }], { durability: 'written' });
        expect(await second.loadJob(id)).toEqual(sampleJob(id));
        await store.commit([{ op: 'delete', id }]);
        expect(await second.jobExists(id)).toBe(false);
      });

      it('applies the writes of one commit in order', async () => {
        const id = store.newJobId('Ordered');
        await store.commit([
          { op: 'put', record: sampleJob(id, { version: 1 }) },
          { op: 'put', record: sampleJob(id, { version: 2 }) },
        ]);
        expect((await second.loadJob(id)).version).toBe(2);
        const gone = store.newJobId('Gone');
        await store.commit([
          { op: 'put', record: sampleJob(gone) },
          { op: 'delete', id: gone },
        ]);
        expect(await second.jobExists(gone)).toBe(false);
        await store.commit([{ op: 'delete', id }]);
      });

      it('round-trips large and small job bodies', async () => {
        const id = store.newJobId('Growing');
        const big = { blob: 'z'.repeat(600_000), list: Array.from({ length: 1000 }, (_, i) => i) };
        await store.commit([{ op: 'put', record: sampleJob(id, { body: big }) }]);
        expect((await second.loadJob(id)).body).toEqual(big);
        await store.commit([{ op: 'put', record: sampleJob(id, { body: { small: true } }) }]);
        expect((await second.loadJob(id)).body).toEqual({ small: true });
        await store.commit([{ op: 'delete', id }]);
      });

      it('rejects invalid records and ids without writing anything', async () => {
        const id = store.newJobId('Invalid');
        const bad = { ...sampleJob(id), state: 'exploded' } as unknown as JobRecord;
        await expect(store.commit([{ op: 'put', record: bad }])).rejects.toThrow();
        expect(await second.jobExists(id)).toBe(false);
        await expectToilError(store.loadJob('../../etc/passwd'), 'INVALID_ARGUMENT');
      });

      it('keeps concurrent writers on different jobs from losing each other’s writes', async () => {
        const writers = await Promise.all(
          [0, 1, 2, 3].map(async () => {
            const w = await backend.open(locator);
            await w.resume();
            return w;
          }),
        );
        const ids = writers.map((_, w) => Array.from({ length: 25 }, (_, j) => `conc-${w}-${j}`));
        await Promise.all(
          writers.map(async (writer, w) => {
            for (let version = 0; version < 4; version++)
              await Promise.all(
                ids[w]!.map((id) =>
                  writer.commit([{ op: 'put', record: sampleJob(id, { version }) }]),
                ),
              );
          }),
        );
        const reader = await backend.open(locator);
        for (const id of ids.flat()) expect((await reader.loadJob(id)).version).toBe(3);
        await writers[0]!.commit(ids.flat().map((id) => ({ op: 'delete' as const, id })));
        expect(await reader.jobExists(ids[3]![24]!)).toBe(false);
        await Promise.all([...writers, reader].map((w) => w.close()));
      });

      it('reports a corrupt or truncated job record as JOBSTORE_CORRUPT naming the record', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        await a.create(sampleConfig());
        const jobs = ['corrupt-a', 'corrupt-b', 'corrupt-c'].map((id) => sampleJob(id));
        await a.commit(jobs.map((record) => ({ op: 'put' as const, record })));
        await a.commit([{ op: 'put', record: sampleJob('corrupt-d') }]);
        const truncated = JSON.stringify(sampleJob('corrupt-b')).slice(0, 40);
        const where = await backend.overwriteJobRecord(target, 'corrupt-b', truncated);
        const reader = await backend.open(target);
        const error = await expectToilError(reader.loadJob('corrupt-b'), 'JOBSTORE_CORRUPT');
        expect(error.message).toContain(where);
        await expectToilError(collect(reader.listJobs()), 'JOBSTORE_CORRUPT', where);
        await backend.overwriteJobRecord(target, 'corrupt-b', JSON.stringify({ hello: 'world' }));
        const again = await backend.open(target);
        await expectToilError(again.loadJob('corrupt-b'), 'JOBSTORE_CORRUPT');
        await backend.overwriteJobRecord(
          target,
          'corrupt-b',
          JSON.stringify({ ...sampleJob('corrupt-b'), v: 2 }),
        );
        const newer = await backend.open(target);
        await expectToilError(newer.loadJob('corrupt-b'), 'JOBSTORE_INCOMPATIBLE');
        await a.destroy();
        await Promise.all([a, reader, again, newer].map((s) => s.close()));
      });

      it(`lists ${backend.listingJobs ?? 10_050} job ids across pages`, async () => {
        const count = backend.listingJobs ?? 10_050;
        const target = backend.newLocator();
        const a = await backend.open(target);
        await a.create(sampleConfig());
        const ids = Array.from({ length: count }, (_, i) => `listed-${i}`);
        for (let i = 0; i < ids.length; i += 1000)
          await a.commit(
            ids.slice(i, i + 1000).map((id) => ({ op: 'put' as const, record: sampleJob(id) })),
          );
        const reader = await backend.open(target);
        const listed = await collect(reader.listJobIds());
        expect(listed).toHaveLength(count);
        expect(new Set(listed)).toEqual(new Set(ids));
        await a.destroy();
        await a.close();
        await reader.close();
      }, 300_000);

      it('lists 1,100 full job records across pages, skipping deleted ones', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        await a.create(sampleConfig());
        const ids = Array.from({ length: 1_100 }, (_, i) => `record-${i}`);
        await a.commit(
          ids.map((id, i) => ({ op: 'put' as const, record: sampleJob(id, { version: i }) })),
        );
        await a.commit(ids.slice(0, 50).map((id) => ({ op: 'delete' as const, id })));
        const reader = await backend.open(target);
        const listed = await collect(reader.listJobs());
        expect(listed).toHaveLength(1_050);
        for (const job of listed) expect(job.version).toBe(Number(job.id.slice(7)));
        expect(new Set(listed.map((j) => j.id))).toEqual(new Set(ids.slice(50)));
        await a.destroy();
        await a.close();
        await reader.close();
      }, 180_000);
    });

    describe('files', () => {
      it('writes from a path and a stream, reads to a path and a stream, and deletes', async () => {
        const local = join(scratch, 'input.txt');
        writeFileSync(local, 'hello from a path');
        const fromPath = await store.writeFile(local);
        expect(fromPath.endsWith('/input.txt')).toBe(true);
        expect(await second.fileSize(fromPath)).toBe(17);
        const out = join(scratch, 'output.txt');
        await second.readFile(fromPath, out);
        expect(readFileSync(out, 'utf8')).toBe('hello from a path');
        const fromStream = await store.writeFileFromStream(Readable.from([Buffer.from('abc')]), {
          basename: 'data.bin',
        });
        expect((await buffer(await second.readFileStream(fromStream))).toString()).toBe('abc');
        await store.updateFile(fromStream, Readable.from([Buffer.from('abcdef')]));
        expect(await second.fileSize(fromStream)).toBe(6);
        await store.deleteFile(fromPath);
        expect(await second.fileExists(fromPath)).toBe(false);
        await expectToilError(second.readFileStream(fromPath), 'FILE_NOT_FOUND');
        await expectToilError(second.fileSize(fromPath), 'FILE_NOT_FOUND');
        await expectToilError(store.updateFile(fromPath, local), 'FILE_NOT_FOUND');
        await store.deleteFile(fromPath);
        await expectToilError(store.readFileStream('../../../etc/passwd'), 'FILE_NOT_FOUND');
      });

      it('stores zero-length files and multi-part sized files byte for byte', async () => {
        const empty = await store.writeFileFromStream(Readable.from([]));
        expect(await second.fileSize(empty)).toBe(0);
        const out = join(scratch, 'empty');
        await second.readFile(empty, out);
        expect(readFileSync(out)).toHaveLength(0);
        const chunk = randomBytes(1024 * 1024);
        const big = await store.writeFileFromStream(
          (async function* () {
            for (let i = 0; i < 20; i++) yield chunk;
          })(),
        );
        expect(await second.fileSize(big)).toBe(20 * 1024 * 1024);
        const back = await buffer(await second.readFileStream(big));
        expect(back.equals(Buffer.concat(Array.from({ length: 20 }, () => chunk)))).toBe(true);
      });

      it('reads part of a stream without hanging', async () => {
        const id = await store.writeFileFromStream(Readable.from([randomBytes(300_000)]));
        const stream = await second.readFileStream(id);
        const first = await new Promise<Buffer>((resolve, reject) => {
          stream.once('data', (data: Buffer) => resolve(data));
          stream.once('error', reject);
        });
        expect(first.length).toBeGreaterThan(0);
        stream.destroy();
      });

      it('deletes a job’s cleanup files with the job and keeps its other files', async () => {
        const job = sampleJob(store.newJobId('Owner'));
        await store.commit([{ op: 'put', record: job }]);
        const temporary = await store.writeFileFromStream(Readable.from([Buffer.from('tmp')]), {
          jobId: job.id,
          cleanup: true,
          basename: 'stream',
        });
        const kept = await store.writeFileFromStream(Readable.from([Buffer.from('keep')]), {
          jobId: job.id,
        });
        await expect(
          store.writeFileFromStream(Readable.from([]), { cleanup: true }),
        ).rejects.toThrow(/jobId/);
        expect(await second.fileExists(temporary)).toBe(true);
        await second.commit([{ op: 'delete', id: job.id }]);
        expect(await store.fileExists(temporary)).toBe(false);
        expect(await store.fileExists(kept)).toBe(true);
      });
      it('deletes cleanup files stored after the instance deleted jobs of a store that had none', async () => {
        const fresh = backend.newLocator();
        const a = await backend.open(fresh);
        await a.create(sampleConfig());
        const b = await backend.open(fresh);
        await b.resume();
        try {
          const early = sampleJob(a.newJobId('Early'));
          const job = sampleJob(a.newJobId('Owner'));
          await a.commit([
            { op: 'put', record: early },
            { op: 'put', record: job },
          ]);
          await b.commit([{ op: 'delete', id: early.id }]);
          const temporary = await a.writeFileFromStream(Readable.from([Buffer.from('tmp')]), {
            jobId: job.id,
            cleanup: true,
            basename: 'later',
          });
          await b.commit([{ op: 'delete', id: job.id }]);
          expect(await a.fileExists(temporary)).toBe(false);
        } finally {
          await a.destroy();
          await a.close();
          await b.close();
        }
      });
    });

    describe('shared files', () => {
      it('round-trips raw and typed shared files between instances', async () => {
        await store.writeSharedFile('user-notes', 'some notes');
        expect((await second.readSharedFile('user-notes'))?.toString()).toBe('some notes');
        expect(await second.readSharedFile('user-missing')).toBeUndefined();
        await store.deleteSharedFile('user-notes');
        expect(await second.readSharedFile('user-notes')).toBeUndefined();
        await expect(store.writeSharedFile('../x' as 'config', 'x')).rejects.toThrow();

        expect(await second.getRootJobId()).toBeUndefined();
        await store.setRootJobId('root-1');
        expect(await second.getRootJobId()).toBe('root-1');
        await store.setRootReturnValue({ answer: 42 });
        expect(await second.getRootReturnValue()).toEqual({ answer: 42 });

        expect(await second.getKillFlag()).toBe(false);
        await store.setKillFlag(true);
        expect(await second.getKillFlag()).toBe(true);
        await store.setKillFlag(false);
        expect(await second.getKillFlag()).toBe(false);

        const leader = {
          pid: 1234,
          nodeId: 'node',
          hostname: 'host',
          startedAt: 1 as EpochSeconds,
          attempt: 0,
          workerPids: [5, 6],
        };
        await store.setLeader(leader);
        expect(await second.getLeader()).toEqual(leader);

        expect(await second.getOutcome()).toBeUndefined();
        const outcome = {
          result: 'failed' as const,
          attempt: 0,
          time: 5 as EpochSeconds,
          failedJobs: [{ id: 'j', name: 'J' }],
        };
        await store.setOutcome(outcome);
        expect(await second.getOutcome()).toEqual(outcome);
        await store.setOutcome(undefined);
        expect(await second.getOutcome()).toBeUndefined();

        const summary = {
          v: 1 as const,
          updatedAt: 1 as EpochSeconds,
          attempt: 0,
          unfinished: 3,
          withChildren: 1,
          withServices: 0,
          services: 0,
          totallyFailed: 1,
          running: 1,
          ready: 1,
          completed: 7,
        };
        await store.writeSummary(summary);
        expect(await second.readSummary()).toEqual(summary);
      });

      it('reports damaged and incompatible shared records with the file or key named', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        await a.create(sampleConfig());
        await a.writeSharedFile('summary', '{"v":1,"updatedAt":');
        const summaryError = await expectToilError(a.readSummary(), 'JOBSTORE_CORRUPT');
        expect(summaryError.message).toMatch(/summary/);
        await a.writeSharedFile('leader', 'not json at all');
        await expectToilError(a.getLeader(), 'JOBSTORE_CORRUPT', 'leader');
        await a.writeSharedFile('config', '');
        await expectToilError(a.resume(), 'JOBSTORE_CORRUPT', 'config');
        await a.writeSharedFile('config', JSON.stringify({ ...sampleConfig(), format: 2 }));
        await expectToilError(a.resume(), 'JOBSTORE_INCOMPATIBLE');
        await a.destroy();
        await a.close();
      });
    });

    describe('stats and logging', () => {
      it('reads unread records once, marks them read, and still reads all of them', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        await a.create(sampleConfig());
        const b = await backend.open(target);
        expect(await collect(a.readStats({ unreadOnly: true }))).toEqual([]);
        await b.appendStats(sampleStats(1));
        expect((await collect(a.readStats({ unreadOnly: true }))).map((r) => r.time)).toEqual([1]);
        expect(await collect(a.readStats({ unreadOnly: true }))).toEqual([]);
        await Promise.all([b.appendStats(sampleStats(2)), a.appendStats(sampleStats(3))]);
        const all = await collect(b.readStats());
        expect(all.map((r) => r.time).sort()).toEqual([1, 2, 3]);
        // Reading everything marks nothing.
        expect(
          (await collect(a.readStats({ unreadOnly: true }))).map((r) => r.time).sort(),
        ).toEqual([2, 3]);
        expect(await collect(a.readStats({ unreadOnly: true }))).toEqual([]);
        await b.appendStats({
          v: 1,
          kind: 'leader',
          time: 9 as EpochSeconds,
          attempt: 0,
          totalTime: 1,
          totalClock: 1,
        });
        expect((await collect(a.readStats())).length).toBe(4);
        expect((await collect(b.readStats({ unreadOnly: true }))).map((r) => r.kind)).toEqual([
          'leader',
        ]);
        // A collector that stops early has read what it was given, and no more.
        await Promise.all([5, 6, 7].map((n) => a.appendStats(sampleStats(n))));
        for await (const first of a.readStats({ unreadOnly: true })) {
          expect(first.kind).toBe('worker');
          break;
        }
        expect(await collect(b.readStats({ unreadOnly: true }))).toHaveLength(2);
        expect(await collect(b.readStats())).toHaveLength(7);
        // Writers that closed, and writers that come later, are read once each.
        for (const n of [8, 9]) {
          const writer = await backend.open(target);
          await writer.appendStats(sampleStats(n));
          await writer.close();
        }
        expect(
          (await collect(a.readStats({ unreadOnly: true }))).map((r) => r.time).sort(),
        ).toEqual([8, 9]);
        expect(await collect(a.readStats({ unreadOnly: true }))).toEqual([]);
        await b.appendStats(sampleStats(10));
        expect((await collect(a.readStats({ unreadOnly: true }))).map((r) => r.time)).toEqual([10]);
        expect(await collect(b.readStats())).toHaveLength(10);
        await a.destroy();
        await a.close();
        await b.close();
      });
    });

    describe('crashes', () => {
      it('stays readable after writers are killed with SIGKILL mid-update', async () => {
        const target = backend.newLocator();
        const a = await backend.open(target);
        await a.create(sampleConfig());
        const writers = ['killed-a', 'killed-b'];
        const jobCount = 20;
        const fileIds: string[] = [];
        for (const prefix of writers) {
          await a.commit(
            Array.from({ length: jobCount }, (_, i) => ({
              op: 'put' as const,
              record: sampleJob(`${prefix}-${i}`),
            })),
          );
          fileIds.push(await a.writeFileFromStream(Readable.from([Buffer.alloc(1024)])));
        }
        const acked = await Promise.all(
          writers.map((prefix, w) =>
            runAndKillWriter(target, prefix, jobCount, fileIds[w]!, 3, env()),
          ),
        );
        const reader = await backend.open(target);
        await reader.resume();
        for (const [w, prefix] of writers.entries()) {
          for (let i = 0; i < jobCount; i++) {
            const job = await reader.loadJob(`${prefix}-${i}`);
            // Acknowledged writes survive; the interrupted one is all there or not at all.
            expect(job.version).toBeGreaterThanOrEqual(acked[w]!);
            expect(job.version).toBeLessThanOrEqual(acked[w]! + 1);
          }
          const shared = JSON.parse(
            (await reader.readSharedFile(`user-${prefix}`))!.toString(),
          ) as { iteration: number };
          expect(shared.iteration).toBeGreaterThanOrEqual(acked[w]!);
          const content = await buffer(await reader.readFileStream(fileIds[w]!));
          expect(content).toHaveLength(1024 * 1024);
          expect(content.every((byte) => byte === content[0])).toBe(true);
          expect(content[0]).toBeGreaterThanOrEqual(acked[w]! % 256);
        }
        const jobs = await collect(reader.listJobs());
        expect(jobs).toHaveLength(writers.length * jobCount);
        const stats = await collect(reader.readStats());
        expect(stats.length).toBeGreaterThanOrEqual(acked[0]! + acked[1]!);
        await a.destroy();
        await a.close();
        await reader.close();
      });
    });
  });
}
