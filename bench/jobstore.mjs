// Job store throughput (file: store): create + update + delete 100,000 job records, append
// 100,000 stats records, read everything back; then a 1 GiB streamed file write/read.
// Every write is durable when its promise resolves (commit() batches of 1,000 share one
// fdatasync; concurrent appendStats() calls are group-committed). Run `pnpm --filter
// @toil/jobstore build` first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJobStore } from '@toil/jobstore';
import { sampleJob, sampleStats } from '@toil/jobstore/testing';
import { createBenchStore, timed } from './lib.mjs';

const JOBS = 100_000;
const STATS = 100_000;
const BATCH = 1_000;
const FILE_BYTES = 1024 ** 3;

function job(id, version) {
  return sampleJob(id, {
    jobName: 'BenchJob',
    displayName: 'bench',
    version,
    state: version === 0 ? 'ready' : 'running',
    requirements: { cores: 1, memory: 2 ** 30, disk: 2 ** 30, preemptible: false },
    children: [`${id}-child`],
    body: { module: '/work/example.ts', exportName: 'BenchJob', args: [version, 'some argument'] },
  });
}

function stats(n) {
  return {
    ...sampleStats(n),
    jobs: [
      {
        jobId: `job-${n}`,
        name: 'bench',
        time: 1,
        clock: 1,
        memory: 1e8,
        requestedCores: 1,
        start: n,
        succeeded: true,
      },
    ],
    messages: [],
  };
}

export default async function run({ log }) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-bench-jobstore-'));
  const rows = [];
  let totalOps = 0;
  let totalSeconds = 0;
  const phase = (name, ops, seconds) => {
    totalOps += ops;
    totalSeconds += seconds;
    log(`${name}: ${ops} in ${seconds.toFixed(2)} s`);
    rows.push({
      name: `${name} (${ops} records)`,
      value: Math.round(ops / seconds),
      unit: 'records/s',
      better: 'higher',
    });
  };
  try {
    const store = await createBenchStore(join(dir, 'store'));
    const ids = Array.from(
      { length: JOBS },
      (_, i) => `BenchJob-${i.toString(16).padStart(8, '0')}`,
    );
    const inBatches = async (make) => {
      for (let i = 0; i < ids.length; i += BATCH)
        await store.commit(ids.slice(i, i + BATCH).map(make));
    };
    phase(
      'create jobs',
      JOBS,
      (await timed(() => inBatches((id) => ({ op: 'put', record: job(id, 0) })))).seconds,
    );
    const reader = await openJobStore(`file:${join(dir, 'store')}`);
    const listed = await timed(async () => {
      let n = 0;
      for await (const _ of reader.listJobs()) n++;
      return n;
    });
    if (listed.result !== JOBS) throw new Error(`listed ${listed.result} jobs, expected ${JOBS}`);
    phase('read all jobs (another instance)', JOBS, listed.seconds);
    phase(
      'update jobs',
      JOBS,
      (await timed(() => inBatches((id) => ({ op: 'put', record: job(id, 1) })))).seconds,
    );
    // The first read after a phase catches up with the new log bytes; time steady-state loads.
    await reader.jobExists(ids[0]);
    const loads = await timed(async () => {
      for (let i = 0; i < 1000; i++) await reader.loadJob(ids[i * 97]);
    });
    phase('load single jobs (another instance)', 1000, loads.seconds);
    phase(
      'delete jobs',
      JOBS,
      (await timed(() => inBatches((id) => ({ op: 'delete', id })))).seconds,
    );
    let remaining = 0;
    for await (const _ of reader.listJobIds()) remaining++;
    if (remaining !== 0) throw new Error(`${remaining} jobs left after deleting all`);
    const appended = await timed(async () => {
      // Workers append concurrently; concurrent appends share one fdatasync (group commit).
      for (let i = 0; i < STATS; i += BATCH)
        await Promise.all(Array.from({ length: BATCH }, (_, j) => store.appendStats(stats(i + j))));
    });
    phase('append stats', STATS, appended.seconds);
    const readAll = await timed(async () => {
      let n = 0;
      for await (const _ of reader.readStats()) n++;
      return n;
    });
    if (readAll.result !== STATS) throw new Error(`read ${readAll.result} stats records`);
    phase('read all stats', STATS, readAll.seconds);
    const readUnread = await timed(async () => {
      let n = 0;
      for await (const _ of reader.readStats({ unreadOnly: true })) n++;
      return n;
    });
    if (readUnread.result !== STATS) throw new Error(`read ${readUnread.result} unread stats`);
    phase('read unread stats and mark them read', STATS, readUnread.seconds);
    rows.unshift({
      name: 'job store record operations, all phases',
      value: Math.round(totalOps / totalSeconds),
      unit: 'records/s',
      target: 20000,
      better: 'higher',
      note: `${totalOps} records in ${totalSeconds.toFixed(1)} s, durable on resolve`,
    });
    rows.push({
      name: 'peak RSS after record phases',
      value: Math.round(process.resourceUsage().maxRSS / 1024),
      unit: 'MiB',
    });

    // A 1 GiB file streamed in and out: memory must stay flat.
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const write = await timed(() =>
      store.writeFileFromStream(
        (async function* () {
          for (let i = 0; i < FILE_BYTES / chunk.length; i++) {
            if (i % 16 === 0) sample();
            yield chunk;
          }
        })(),
        { basename: 'big.bin' },
      ),
    );
    const fileId = write.result;
    if ((await reader.fileSize(fileId)) !== FILE_BYTES)
      throw new Error('big file has the wrong size');
    const read = await timed(async () => {
      let bytes = 0;
      let n = 0;
      for await (const part of await reader.readFileStream(fileId)) {
        bytes += part.length;
        if (++n % 64 === 0) sample();
      }
      return bytes;
    });
    if (read.result !== FILE_BYTES) throw new Error(`read ${read.result} bytes of the big file`);
    rows.push({
      name: '1 GiB file streamed write (fsync)',
      value: FILE_BYTES / 2 ** 20 / write.seconds,
      unit: 'MiB/s',
      better: 'higher',
    });
    rows.push({
      name: '1 GiB file streamed read',
      value: FILE_BYTES / 2 ** 20 / read.seconds,
      unit: 'MiB/s',
      better: 'higher',
    });
    rows.push({
      name: 'RSS growth during 1 GiB write + read',
      value: Math.round((peak - baseline) / 2 ** 20),
      unit: 'MiB',
      target: 64,
      note: 'flat memory: streamed, never buffered',
    });
    await store.destroy();
    await store.close();
    await reader.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
