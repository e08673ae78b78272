// Helpers shared by the benchmarks.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built CLI, run by path (never `toil` from PATH). */
export const CLI = join(ROOT, 'packages/cli/dist/bin.js');

/** Runs an async function and resolves to `{ seconds, result }`. */
export async function timed(fn) {
  const started = process.hrtime.bigint();
  const result = await fn();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

/**
 * Creates a `file:` job store at `path` with the built @toil/jobstore and resolves to it; its
 * config is the contract suite's sample (`@toil/jobstore/testing`), marked as a benchmark's.
 */
export async function createBenchStore(path) {
  const [{ openJobStore }, { sampleConfig }] = await Promise.all([
    import('@toil/jobstore'),
    import('@toil/jobstore/testing'),
  ]);
  const store = await openJobStore(`file:${path}`);
  await store.create(sampleConfig({ workflowId: 'bench', toilVersion: 'bench', clean: 'never' }));
  return store;
}

/** Median of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Runs a command to completion and resolves to `{ seconds, code, maxRssBytes, stdout, stderr }`.
 * Peak RSS of the child (and its waited-for children) comes from GNU time when present.
 */
export function timeCommand(argv, options = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ seconds, code, stdout, stderr });
    });
  });
}

/**
 * Node's own start-up on this machine (median of 5 `node -e 0`, in ms), the floor of every
 * process a run starts, as rows: with the environment as it is and, when the environment sets
 * NODE_EXTRA_CA_CERTS (Node 20 parses that bundle at every start), without it, for comparison
 * only: the benchmarks' own runs keep the environment as users have it.
 */
export async function nodeStartRows() {
  const startMs = async (env) => {
    const runs = [];
    for (let i = 0; i < 5; i++)
      runs.push((await timeCommand([process.execPath, '-e', '0'], { env })).seconds);
    return median(runs) * 1000;
  };
  const rows = [
    {
      name: 'bare `node -e 0` (start + exit), median of 5',
      value: await startMs(process.env),
      unit: 'ms',
      note: 'for comparison',
    },
  ];
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const { NODE_EXTRA_CA_CERTS: _certs, ...env } = process.env;
    rows.push({
      name: 'bare `node -e 0` without NODE_EXTRA_CA_CERTS, median of 5',
      value: await startMs(env),
      unit: 'ms',
      note: `for comparison: this environment sets NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}, which every Node process of a run parses at its start; the runs above keep it`,
    });
  }
  return rows;
}
