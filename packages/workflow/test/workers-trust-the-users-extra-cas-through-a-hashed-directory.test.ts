import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, rootCertificates, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EMPTY_CA_FILE, extraTrustStore, workerCaEnvironment } from '../src/extra-ca.js';
import { subjectNameHash } from '../src/subject-hash.js';
import {
  CA_RUNTIME_ENV,
  caRuntime,
  ORIGINAL_CA_ENV,
  restoreUserCaCerts,
} from '../src/worker-ca.js';
import { selfSignedCertificate } from '../../../tooling/test-env/certificates.js';
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
  selfSignedCertificate(ours, key, '/CN=toil-ts test CA', [
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
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

/** The user's variables a worker's store replaces, as `env` has them. */
function caVariables(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const names = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];
  return Object.fromEntries(names.map((name) => [name, env[name]]));
}

/** `openssl`'s subject hash of each PEM file in `dir` by file name (one `openssl rehash`). */
function opensslHashes(dir: string): Map<string, string> {
  execFileSync('openssl', ['rehash', dir], { stdio: 'ignore' });
  const hashes = new Map<string, string>();
  for (const name of readdirSync(dir))
    if (/^[0-9a-f]{8}\.\d+$/.test(name))
      hashes.set(readlinkSync(join(dir, name)), name.slice(0, 8));
  return hashes;
}

describe('the CA store a worker gets', () => {
  test("names each certificate's file by the subject hash OpenSSL computes", () => {
    const certificates = join(dir, 'hash-check');
    mkdirSync(certificates);
    const pems = [...rootCertificates];
    // Names OpenSSL canonicalizes: case, runs of white space, several values in one RDN, an
    // e-mail address (IA5String), T61String and BMPString text.
    const subjects: [string, string[]][] = [
      ['/CN=  Toil   TS  Test/O=Example Org/C=DE', []],
      ['/O=Lab+OU=Core Facility/CN=multi value', ['-multivalue-rdn']],
      ['/CN=mail/emailAddress=Someone@Example.ORG', []],
      ['/CN=M\u00fcller CA/O=Stra\u00dfe', ['-utf8']],
    ];
    for (const [index, [subject, flags]] of subjects.entries()) {
      for (const mask of ['default', 'pkix', 'utf8only']) {
        const out = join(dir, `subject-${index}-${mask}.pem`);
        selfSignedCertificate(out, join(dir, 'subject-key.pem'), subject, flags, {
          ...process.env,
          OPENSSL_CONF: stringMaskConfig(mask),
        });
        pems.push(readFileSync(out, 'utf8'));
      }
    }
    pems.forEach((pem, index) => writeFileSync(join(certificates, `c${index}.pem`), pem));
    const expected = opensslHashes(certificates);
    const ours = new Map(
      pems.map((pem, index) => [`c${index}.pem`, subjectNameHash(new X509Certificate(pem).raw)]),
    );
    // (rehash skips a certificate that is there twice.)
    expect(expected.size).toBeGreaterThan(rootCertificates.length);
    for (const [file, hash] of expected) expect([file, ours.get(file)]).toEqual([file, hash]);
  });

  test("holds Node's bundled roots and the file's certificates, each once, in OpenSSL's layout", () => {
    const additions = workerCaEnvironment([], envWith(mixed));
    const store = additions.SSL_CERT_DIR!;
    expect(additions).toEqual({
      NODE_EXTRA_CA_CERTS: '',
      NODE_OPTIONS: '--use-openssl-ca',
      SSL_CERT_FILE: join(store, EMPTY_CA_FILE),
      SSL_CERT_DIR: store,
      [ORIGINAL_CA_ENV]: JSON.stringify({
        NODE_EXTRA_CA_CERTS: mixed,
        NODE_OPTIONS: process.env.NODE_OPTIONS ?? null,
        SSL_CERT_FILE: process.env.SSL_CERT_FILE ?? null,
        SSL_CERT_DIR: process.env.SSL_CERT_DIR ?? null,
      }),
      [CA_RUNTIME_ENV]: caRuntime(),
    });
    expect(readFileSync(additions.SSL_CERT_FILE!, 'utf8')).toBe('');
    const files = readdirSync(store).filter((name) => name !== EMPTY_CA_FILE);
    const stored = files.map((name) => new X509Certificate(readFileSync(join(store, name))));
    expect(stored).toHaveLength(rootCertificates.length + 1);
    for (const [index, certificate] of stored.entries())
      expect(files[index]).toMatch(new RegExp(`^${subjectNameHash(certificate.raw)}\\.\\d$`));
    const fingerprints = new Set(stored.map((certificate) => certificate.fingerprint256));
    expect(fingerprints.size).toBe(stored.length);
    for (const pem of [...rootCertificates, readFileSync(ours, 'utf8')])
      expect(fingerprints.has(new X509Certificate(pem).fingerprint256)).toBe(true);
    expect(extraTrustStore(readFileSync(mixed, 'latin1'), rootCertificates)).toHaveLength(
      stored.length,
    );
    // The user's NODE_OPTIONS are kept, ours added.
    expect(
      workerCaEnvironment([], envWith(mixed, { NODE_OPTIONS: '--max-old-space-size=300' }))
        .NODE_OPTIONS,
    ).toBe('--max-old-space-size=300 --use-openssl-ca');
    // Removed from the cache meanwhile: made again once it is looked at (at most once a second).
    rmSync(store, { recursive: true });
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now');
    try {
      clock.mockReturnValue(now + 1000);
      expect(workerCaEnvironment([], envWith(mixed))).toEqual(additions);
    } finally {
      clock.mockRestore();
    }
    expect(readdirSync(store).sort()).toEqual([...files, EMPTY_CA_FILE].sort());
  });

  test('is only an empty NODE_EXTRA_CA_CERTS when Node bundles every certificate of the file', () => {
    expect(workerCaEnvironment([], envWith(bundledOnly))).toEqual({
      NODE_EXTRA_CA_CERTS: '',
      [ORIGINAL_CA_ENV]: JSON.stringify({ NODE_EXTRA_CA_CERTS: bundledOnly }),
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
    // A cache path OpenSSL would split (SSL_CERT_DIR is a list).
    expect(
      workerCaEnvironment([], envWith(mixed, { TOIL_TS_CACHE_DIR: join(dir, 'a:b') })),
    ).toEqual({});
  });
});

/** An OpenSSL configuration whose `req` section picks the string types by `mask`. */
function stringMaskConfig(mask: string): string {
  const file = join(dir, `mask-${mask}.cnf`);
  writeFileSync(
    file,
    `[req]\ndistinguished_name = dn\nstring_mask = ${mask}\nprompt = no\n[dn]\nCN = unused\n`,
  );
  return file;
}

describe('a worker started with the store', () => {
  test('trusts what the user setting trusts and gives jobs the user setting', async () => {
    const workflow = join(dir, 'tls.mjs');
    writeFileSync(
      workflow,
      `import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { Job, Toil } from '@toil/workflow';

const names = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];
const variables = (env) => Object.fromEntries(names.map((name) => [name, env[name] ?? null]));
const childVariables = \`JSON.stringify(Object.fromEntries(\${JSON.stringify(names)}.map((name) => [name, process.env[name] ?? null])))\`;

export function hello() {
  const child = JSON.parse(execFileSync(process.execPath, ['-p', childVariables]).toString());
  const helpers = Object.keys(process.env).filter((name) => name.startsWith('TOIL_') && name.includes('CA_CERTS'));
  // What this process was started with (setenv does not change it).
  const started = Object.fromEntries(readFileSync('/proc/self/environ', 'latin1').split('\\0').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: ${port} }, () => {
      socket.once('data', (data) => resolve({ said: String(data), own: variables(process.env), child, helpers, startedWith: started.SSL_CERT_DIR ?? null }));
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
    const user = Object.fromEntries(
      Object.entries(caVariables(envWith(mixed))).map(([name, value]) => [name, value ?? null]),
    );
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({
      said: 'hello',
      own: user,
      child: user,
      helpers: [],
      // Not run again with the user's setting: the worker made its store from the directory.
      startedWith: workerCaEnvironment([], envWith(mixed)).SSL_CERT_DIR,
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

  test('runs again with the user setting where its Node is not the one the store was made for', () => {
    // A preload records each Node process the worker entry runs in, and the store it was given.
    const record = join(dir, 'record.cjs');
    const seen = join(dir, 'seen.txt');
    writeFileSync(
      record,
      // (Only its main thread: the loader's hooks thread runs preloads as well.)
      `if (require('worker_threads').isMainThread) require('fs').appendFileSync(${JSON.stringify(seen)}, (process.env.SSL_CERT_DIR ?? '-') + '\\n');`,
    );
    const user = envWith(mixed, { NODE_OPTIONS: `--require ${record}` });
    const additions = workerCaEnvironment([], user);
    const run = (more: NodeJS.ProcessEnv): { status: number | null; seen: string[] } => {
      rmSync(seen, { force: true });
      const result = spawnSync(process.execPath, [BUILT_WORKER, 'run'], {
        env: { ...user, ...additions, ...more },
        encoding: 'utf8',
      });
      return { status: result.status, seen: readFileSync(seen, 'utf8').trim().split('\n') };
    };
    const store = additions.SSL_CERT_DIR!;
    const users = user.SSL_CERT_DIR ?? '-';
    expect(additions.NODE_OPTIONS).toBe(`--require ${record} --use-openssl-ca`);
    // `run` without its arguments: the usage, exit 2.
    expect(run({})).toEqual({ status: 2, seen: [store] });
    expect(run({ [CA_RUNTIME_ENV]: 'node 18.0.0 openssl 3.0.0' })).toEqual({
      status: 2,
      seen: [store, users],
    });
    expect(run({ SSL_CERT_DIR: join(dir, 'gone') })).toEqual({
      status: 2,
      seen: [join(dir, 'gone'), users],
    });
  });

  test('puts the user setting back first thing, and checks its own Node arguments', () => {
    const user = envWith(mixed, {
      NODE_OPTIONS: '--max-old-space-size=300',
      SSL_CERT_FILE: undefined,
    });
    delete user.SSL_CERT_FILE;
    const env: NodeJS.ProcessEnv = { ...user, ...workerCaEnvironment([], user) };
    expect(env.SSL_CERT_FILE).toBeDefined();
    expect(restoreUserCaCerts(env, [])).toBe(true);
    expect(caVariables(env)).toEqual(caVariables(user));
    expect('SSL_CERT_FILE' in env).toBe(false);
    expect(env[ORIGINAL_CA_ENV]).toBeUndefined();
    expect(env[CA_RUNTIME_ENV]).toBeUndefined();
    const flagged: NodeJS.ProcessEnv = { ...user, ...workerCaEnvironment([], user) };
    expect(restoreUserCaCerts(flagged, ['--use-bundled-ca'])).toBe(false);
    expect(caVariables(flagged)).toEqual(caVariables(user));
    expect(restoreUserCaCerts(envWith(mixed), ['--use-openssl-ca'])).toBe(true);
    // Without the store (Node bundles every certificate), NODE_OPTIONS is the worker's own: a
    // wrapper that chose OpenSSL's store there makes the worker run again too.
    const wrapped: NodeJS.ProcessEnv = {
      ...envWith(bundledOnly),
      ...workerCaEnvironment([], envWith(bundledOnly)),
      NODE_OPTIONS: '--use-openssl-ca',
    };
    expect(restoreUserCaCerts(wrapped, [])).toBe(false);
    expect(wrapped.NODE_EXTRA_CA_CERTS).toBe(bundledOnly);
  });
});
