import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, rootCertificates, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { unbundledCertificates, workerCaEnvironment } from '../src/extra-ca.js';
import {
  CA_RUNTIME_ENV,
  caRuntime,
  ORIGINAL_CA_ENV,
  restoreUserCaCerts,
} from '../src/worker-ca.js';
import { expectOk, REPO_ROOT, runCommand, runToil } from '../../../tooling/test-env/cli.js';
import { scratch } from './helpers.js';

const dir = scratch();
const cacheDir = join(dir, 'cache');
const ours = join(dir, 'ours.pem');
/** Three of Node's bundled roots. */
const bundledOnly = join(dir, 'bundled.pem');
/** Two bundled roots and ours, written with other line breaks than Node's. */
const mixed = join(dir, 'mixed.pem');
/** The built worker entry, as the CLI starts it. */
const BUILT_WORKER = join(REPO_ROOT, 'packages', 'workflow', 'dist', 'worker.js');
let server: Server;
let port: number;

beforeAll(async () => {
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      ours,
      '-days',
      '2',
      '-subj',
      '/CN=toil-ts test CA',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(bundledOnly, rootCertificates.slice(0, 3).join('\n'));
  const crlf = (pem: string): string => pem.replace(/\n/g, '\r\n');
  writeFileSync(
    mixed,
    `# a comment\n${crlf(rootCertificates[5]!)}\n${readFileSync(ours, 'utf8')}${crlf(rootCertificates[0]!)}\n`,
  );
  server = createServer({ key: readFileSync(key), cert: readFileSync(ours) }, (socket) =>
    socket.end('hello'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** The environment of the test with `NODE_EXTRA_CA_CERTS` set to `file`. */
function envWith(file: string, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, NODE_EXTRA_CA_CERTS: file, TOIL_TS_CACHE_DIR: cacheDir, ...more };
}

describe('the smaller extra-CA file a worker gets', () => {
  test('holds only the certificates Node does not bundle, compared by their bytes', () => {
    const additions = workerCaEnvironment([], envWith(mixed));
    expect(additions[ORIGINAL_CA_ENV]).toBe(mixed);
    expect(additions[CA_RUNTIME_ENV]).toBe(caRuntime());
    const smaller = readFileSync(additions.NODE_EXTRA_CA_CERTS!, 'utf8');
    expect(unbundledCertificates(smaller, [readFileSync(ours, 'utf8')])).toBe('');
    expect(smaller.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    // Removed from the cache meanwhile: made again.
    rmSync(additions.NODE_EXTRA_CA_CERTS!);
    expect(workerCaEnvironment([], envWith(mixed))).toEqual(additions);
    expect(readFileSync(additions.NODE_EXTRA_CA_CERTS!, 'utf8')).toBe(smaller);
  });

  test('is left out when Node bundles every certificate of the file', () => {
    expect(workerCaEnvironment([], envWith(bundledOnly))).toEqual({
      NODE_EXTRA_CA_CERTS: '',
      [ORIGINAL_CA_ENV]: bundledOnly,
      [CA_RUNTIME_ENV]: caRuntime(),
    });
  });

  test('is not made when it cannot be shown to be equivalent: the user setting stays', () => {
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n');
    const withKey = join(dir, 'with-key.pem');
    writeFileSync(withKey, readFileSync(ours, 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'));
    for (const file of [join(dir, 'missing.pem'), garbage, withKey, 'ours.pem'])
      expect(workerCaEnvironment([], envWith(file))).toEqual({});
    for (const options of ['--use-openssl-ca', '--max-old-space-size=100 --openssl-config=x.cnf'])
      expect(workerCaEnvironment([], envWith(mixed, { NODE_OPTIONS: options }))).toEqual({});
    expect(workerCaEnvironment(['--use-bundled-ca'], envWith(mixed))).toEqual({});
  });
});

describe('a worker started with the smaller file', () => {
  test('trusts what the user setting trusts and gives jobs the user setting', async () => {
    const workflow = join(dir, 'tls.mjs');
    writeFileSync(
      workflow,
      `import { execFileSync } from 'node:child_process';
import { connect } from 'node:tls';
import { Job, Toil } from '@toil/workflow';

export function hello() {
  const child = execFileSync(process.execPath, ['-p', 'process.env.NODE_EXTRA_CA_CERTS']).toString().trim();
  const helpers = Object.keys(process.env).filter((name) => name.startsWith('TOIL_') && name.includes('CA_CERTS'));
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: ${port} }, () => {
      socket.once('data', (data) => resolve({ said: String(data), own: process.env.NODE_EXTRA_CA_CERTS, child, helpers }));
    });
    socket.on('error', (error) => resolve({ error: error.code }));
  });
}

Job.Runner.main(import.meta.url, async () => {
  const toil = new Toil(Job.Runner.getDefaultOptions());
  try {
    console.log(JSON.stringify(await toil.start(Job.wrapJobFn(hello))));
  } finally {
    await toil.close();
  }
});
`,
    );
    const result = await runToil(
      ['run', workflow, `file:${join(dir, 'store')}`, '--workDir', dir],
      {
        cwd: dir,
        env: envWith(mixed),
      },
    );
    expectOk(result);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({
      said: 'hello',
      own: mixed,
      child: mixed,
      helpers: [],
    });

    // The same connection from a Node with the setting that lacks our certificate fails.
    // (Not spawnSync: this process serves the connection.)
    const without = await runCommand(
      [
        process.execPath,
        '-e',
        `require('tls').connect({host:'127.0.0.1',port:${port}}).on('error',e=>{console.log(e.code)}).on('secureConnect',()=>{console.log('trusted');process.exit()})`,
      ],
      { env: { ...envWith(bundledOnly), ...workerCaEnvironment([], envWith(bundledOnly)) } },
    );
    expect(without.stdout.trim()).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test('runs again with the user setting where its Node is not the one the file was made for', () => {
    // A preload records each Node process the worker entry runs in, and what it was given.
    const record = join(dir, 'record.cjs');
    const seen = join(dir, 'seen.txt');
    writeFileSync(
      record,
      // (Only its main thread: the loader's hooks thread runs preloads as well.)
      `if (require('worker_threads').isMainThread) require('fs').appendFileSync(${JSON.stringify(seen)}, (process.env.NODE_EXTRA_CA_CERTS ?? '-') + '\\n');`,
    );
    const run = (more: NodeJS.ProcessEnv): { status: number | null; seen: string[] } => {
      rmSync(seen, { force: true });
      const result = spawnSync(process.execPath, [BUILT_WORKER, 'run'], {
        env: envWith(mixed, {
          NODE_OPTIONS: `--require ${record}`,
          ...workerCaEnvironment([], envWith(mixed)),
          ...more,
        }),
        encoding: 'utf8',
      });
      return { status: result.status, seen: readFileSync(seen, 'utf8').trim().split('\n') };
    };
    const smaller = workerCaEnvironment([], envWith(mixed)).NODE_EXTRA_CA_CERTS!;
    // `run` without its arguments: the usage, exit 2.
    expect(run({})).toEqual({ status: 2, seen: [smaller] });
    expect(run({ [CA_RUNTIME_ENV]: 'node 18.0.0 openssl 3.0.0' })).toEqual({
      status: 2,
      seen: [smaller, mixed],
    });
    expect(run({ NODE_EXTRA_CA_CERTS: join(dir, 'gone.pem') })).toEqual({
      status: 2,
      seen: [join(dir, 'gone.pem'), mixed],
    });
  });

  test('puts the user setting back first thing, and checks its own Node arguments', () => {
    const env: NodeJS.ProcessEnv = {
      ...envWith(mixed),
      ...workerCaEnvironment([], envWith(mixed)),
    };
    expect(restoreUserCaCerts(env, [])).toBe(true);
    expect(env.NODE_EXTRA_CA_CERTS).toBe(mixed);
    expect(env[ORIGINAL_CA_ENV]).toBeUndefined();
    expect(env[CA_RUNTIME_ENV]).toBeUndefined();
    const flagged: NodeJS.ProcessEnv = {
      ...envWith(mixed),
      ...workerCaEnvironment([], envWith(mixed)),
    };
    expect(restoreUserCaCerts(flagged, ['--use-openssl-ca'])).toBe(false);
    expect(flagged.NODE_EXTRA_CA_CERTS).toBe(mixed);
    expect(restoreUserCaCerts(envWith(mixed), ['--use-openssl-ca'])).toBe(true);
  });
});
