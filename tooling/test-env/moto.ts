import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A moto_server this tooling started on 127.0.0.1. */
export interface MotoServer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Environment that points the AWS SDK's standard chain at this server. */
  readonly env: Record<string, string>;
  /** Wipes all state (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Stops the server by pid (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. */
  stop(): Promise<void>;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds moto_server: on PATH (what `command -v moto_server` finds), else in
 * `~/.pyenv/versions/<any>/bin/` (the image's pyenv Python, not on a clean PATH).
 */
export function findMotoServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'moto_server'))) return join(dir, 'moto_server');
  }
  const versions = join(homedir(), '.pyenv', 'versions');
  if (!existsSync(versions)) return undefined;
  for (const version of readdirSync(versions).sort().reverse()) {
    const candidate = join(versions, version, 'bin', 'moto_server');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts moto_server on 127.0.0.1 with a free port and waits (polling GET /moto-api/, 60 s
 * deadline) until it answers. Throws when moto_server is missing or does not come up.
 */
export async function startMoto(): Promise<MotoServer> {
  const binary = findMotoServer();
  if (!binary) throw new Error('moto_server not found (PATH, ~/.pyenv/versions/*/bin)');
  const port = await freePort();
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `moto_server exited early (${child.exitCode ?? child.signalCode}): ${stderr}`,
      );
    try {
      const answer = await fetch(`${endpoint}/moto-api/`);
      if (answer.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    endpoint,
    port,
    pid,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async reset() {
      const answer = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!answer.ok) throw new Error(`moto reset failed: ${answer.status}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 10_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}

const MISSING = 'moto_server is not installed (S3 on 127.0.0.1)';

/**
 * Whether an S3 suite runs: true when moto_server is installed or `CI=true` (where a missing
 * moto must fail, not skip). Otherwise prints a loud warning and returns false.
 */
function motoAvailableOrWarn(suite: string): boolean {
  if (findMotoServer() || process.env.CI === 'true') return true;
  process.stderr.write(
    `\n${'!'.repeat(78)}\n!! SKIPPING ${suite}: ${MISSING}.\n!! Install moto (pip install 'moto[server]') to run it; CI=true makes this a failure.\n${'!'.repeat(78)}\n\n`,
  );
  return false;
}

/** What {@link useMotoStoreEnv} gives a test file. */
export interface MotoStoreEnv {
  /**
   * False only on a developer machine without moto_server (a loud warning was printed); under
   * `CI=true` it is true even then, and the file's `beforeAll` fails.
   */
  readonly available: boolean;
  /** jest's `describe` when {@link available}, else `describe.skip`. */
  readonly describe: jest.Describe;
  /** The running server (inside tests only: it starts in `beforeAll`). */
  server(): MotoServer;
}

/**
 * For jest test files of `aws:` stores; call it at module level. Registers a `beforeAll` that
 * starts moto_server on 127.0.0.1 and points the AWS SDK's standard chain (`process.env`, so
 * child processes the test starts inherit it) at it, and an `afterAll` that stops the server
 * and restores the environment. Without moto_server it prints a loud warning and the suites
 * declared with the returned `describe` skip on a developer machine, but fail under `CI=true`.
 *
 * ```ts
 * const moto = useMotoStoreEnv('the aws: store tests');
 * moto.describe('aws: store', () => { it('…', async () => { … }); });
 * ```
 */
export function useMotoStoreEnv(suite: string): MotoStoreEnv {
  const available = motoAvailableOrWarn(suite);
  let server: MotoServer | undefined;
  const saved = new Map<string, string | undefined>();
  if (available) {
    beforeAll(async () => {
      if (!findMotoServer()) throw new Error(`${MISSING}: ${suite} needs it; CI must run it.`);
      server = await startMoto();
      for (const [key, value] of Object.entries(server.env)) {
        saved.set(key, process.env[key]);
        process.env[key] = value;
      }
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }, 30_000);
  }
  return {
    available,
    describe: available ? describe : describe.skip,
    server() {
      if (!server) throw new Error(`moto_server is not running (${suite}): use server() in tests`);
      return server;
    },
  };
}
