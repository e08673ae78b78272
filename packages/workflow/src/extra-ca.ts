import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { workflowCacheDir, writeAtomically } from './cache-dir.js';
import { subjectNameHash } from './subject-hash.js';
import { CA_RUNTIME_ENV, caRuntime, ORIGINAL_CA_ENV, selectsOtherCaStore } from './worker-ca.js';

/** node:crypto, loaded on first use: the index loads this module, and a worker seldom needs it. */
function crypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}

// Node parses its bundled roots and the whole NODE_EXTRA_CA_CERTS file at every start when the
// variable is set (~70 ms of CPU for a 144-certificate system bundle), and then trusts their
// union. Workers get that union as an OpenSSL hashed directory instead (`--use-openssl-ca` with
// SSL_CERT_DIR), which OpenSSL reads only for the certificates a verification looks up: Node
// starts as if the variable were not set. worker-ca.ts makes the worker's store from it and
// puts the user's environment back.

const PEM_BLOCK = /-----BEGIN ([^-\r\n]+)-----\r?\n([^-]*)-----END \1-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The DER of each PEM certificate in `text` (base64, canonical); undefined for anything else. */
function certificatesOf(text: string): string[] | undefined {
  const certificates: string[] = [];
  for (const [, label, body] of text.matchAll(PEM_BLOCK)) {
    const base64 = body!.replace(/\s+/g, '');
    // Other objects, PEM headers (encrypted or "TRUSTED CERTIFICATE" blocks): not ours to judge.
    if (label !== 'CERTIFICATE' || !BASE64.test(base64)) return undefined;
    const der = Buffer.from(base64, 'base64');
    new (crypto().X509Certificate)(der);
    certificates.push(der.toString('base64'));
  }
  const begins = text.split('-----BEGIN ').length - 1;
  return certificates.length > 0 && begins === certificates.length ? certificates : undefined;
}

/** PEM text of a certificate given as base64 DER. */
function pemOf(der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${der.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

/**
 * The trust store of a Node that starts with `NODE_EXTRA_CA_CERTS` holding the PEM text `text`:
 * `bundled` (PEM texts, as `tls.rootCertificates`) and the file's certificates, each once
 * (base64 DER, sorted), or `[]` when Node bundles every one of them (the variable adds nothing);
 * undefined when `text` holds anything but well-formed certificates, or none.
 * @internal
 */
export function extraTrustStore(text: string, bundled: readonly string[]): string[] | undefined {
  const extra = certificatesOf(text);
  if (!extra) return undefined;
  const roots = bundled.flatMap((pem) => certificatesOf(pem) ?? []);
  const known = new Set(roots);
  if (extra.every((der) => known.has(der))) return [];
  return [...new Set([...roots, ...extra])].sort();
}

/** Name of the empty file a worker's `SSL_CERT_FILE` names in the directory (no second source). */
export const EMPTY_CA_FILE = 'none.pem';

/**
 * Writes the certificates (base64 DER) as an OpenSSL hashed directory `dir`: each in its file
 * `<subject hash>.<n>` (what `openssl rehash` makes), plus {@link EMPTY_CA_FILE}; made under
 * another name and renamed, so that a worker never sees a partial directory.
 */
function writeHashedDirectory(dir: string, certificates: readonly string[]): void {
  if (existsSync(join(dir, EMPTY_CA_FILE))) return;
  mkdirSync(dirname(dir), { recursive: true });
  const temp = mkdtempSync(`${dir}.tmp-`);
  try {
    const taken = new Map<string, number>();
    for (const der of certificates) {
      const hash = subjectNameHash(Buffer.from(der, 'base64'));
      const n = taken.get(hash) ?? 0;
      taken.set(hash, n + 1);
      writeFileSync(join(temp, `${hash}.${n}`), pemOf(der));
    }
    writeFileSync(join(temp, EMPTY_CA_FILE), '');
    renameSync(temp, dir);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    // Made meanwhile by another process: the same content under the same name.
    if (!existsSync(join(dir, EMPTY_CA_FILE))) throw error;
  }
}

interface Memo {
  /** The hashed directory's name in the cache directory; null when every certificate is bundled. */
  dir: string | null;
}

function sha256(text: string): string {
  return crypto().createHash('sha256').update(text).digest('hex');
}

/** SSL_CERT_DIR may list several directories, separated by ':'; OpenSSL's store takes a URI. */
const PLAIN_PATH = /^[A-Za-z0-9._/+@=-]+$/;

/**
 * The hashed directory workers trust instead of the extra-CA file `path` (absolute): a
 * content-addressed directory in `cacheDir` ('' when Node bundles every certificate of
 * `path`), computed once per file version and Node runtime (a memo makes later calls one stat,
 * one small read and one existsSync). Undefined when not provably equivalent: `path`
 * unreadable, or holding anything but certificates, or a cache path OpenSSL would split.
 */
function hashedCaDirectory(path: string, cacheDir: string): string | undefined {
  const stat = statSync(path);
  const key = JSON.stringify([
    path,
    stat.dev,
    stat.ino,
    stat.size,
    stat.mtimeMs,
    stat.ctimeMs,
    caRuntime(),
  ]);
  // (Its own name: other versions' memos in the same cache say other things.)
  const memoName = `store-memo-${sha256(key)}.json`;
  const memo = readMemo(join(cacheDir, memoName));
  if (memo) {
    if (memo.dir === null) return '';
    const dir = join(cacheDir, memo.dir);
    if (existsSync(join(dir, EMPTY_CA_FILE))) return dir;
  }
  const text = readFileSync(path);
  if (text.length !== stat.size) return undefined;
  const { rootCertificates } = process.getBuiltinModule('node:tls');
  const store = extraTrustStore(text.toString('latin1'), rootCertificates);
  if (store === undefined) return undefined;
  const name = store.length === 0 ? null : `store-${sha256(store.join('\n')).slice(0, 32)}`;
  if (name !== null) {
    if (!PLAIN_PATH.test(join(cacheDir, name))) return undefined;
    writeHashedDirectory(join(cacheDir, name), store);
  }
  writeAtomically(cacheDir, memoName, JSON.stringify({ dir: name } satisfies Memo));
  return name === null ? '' : join(cacheDir, name);
}

function readMemo(path: string): Memo | undefined {
  try {
    const memo = JSON.parse(readFileSync(path, 'utf8')) as Memo;
    return memo.dir === null || /^store-[0-9a-f]{32}$/.test(String(memo.dir)) ? memo : undefined;
  } catch {
    return undefined;
  }
}

const computed = new Map<string, { additions: Record<string, string>; checked: number }>();

/** Milliseconds a computed store is trusted to still exist before it is looked at again. */
const RECHECK_MS = 1000;

/** The variables a worker with the hashed directory is given, and gives back to its jobs. */
const CA_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

/**
 * The environment additions that give a worker started with the Node arguments `nodeArgs`
 * the same trust store as the user's `NODE_EXTRA_CA_CERTS` at a fraction of Node's start-up
 * cost: Node told to use OpenSSL's store (`--use-openssl-ca` in `NODE_OPTIONS`), that store
 * being a hashed directory of Node's bundled roots and the file's certificates (`SSL_CERT_DIR`,
 * `SSL_CERT_FILE` an empty file in it), no `NODE_EXTRA_CA_CERTS` (nor any of these when Node
 * bundles every certificate of the file), and the user's values of these variables and this
 * Node's runtime for the worker to check and put back (`restoreUserCaCerts` in the worker's
 * entry). Nothing when the variable is not set, or when not provably equivalent: a relative
 * path, Node arguments or `NODE_OPTIONS` that select another CA store, a Node built to use
 * OpenSSL's store, a file that cannot be read or holds anything but certificates, or any other
 * failure (never throws). Computed once per process and setting (and again if its directory
 * was removed).
 */
export function workerCaEnvironment(
  nodeArgs: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const original = env.NODE_EXTRA_CA_CERTS;
  if (!original || env[ORIGINAL_CA_ENV] !== undefined) return {};
  const cacheDir = join(workflowCacheDir(env), 'node-extra-ca');
  const key = JSON.stringify([CA_VARIABLES.map((name) => env[name] ?? null), nodeArgs, cacheDir]);
  const known = computed.get(key);
  let additions = known?.additions;
  // A directory removed meanwhile (the cache cleaned) is made again, not left for workers to
  // miss; looked at once a second at most (this runs for every job a batch system issues).
  const now = Date.now();
  if (known && additions?.SSL_CERT_FILE && now - known.checked >= RECHECK_MS) {
    if (existsSync(additions.SSL_CERT_FILE)) known.checked = now;
    else additions = undefined;
  }
  if (!additions) {
    additions = {};
    try {
      const runtime = caRuntime();
      if (
        isAbsolute(original) &&
        !runtime.endsWith('openssl-ca') &&
        !selectsOtherCaStore([...nodeArgs, env.NODE_OPTIONS ?? ''])
      ) {
        const dir = hashedCaDirectory(original, cacheDir);
        if (dir !== undefined) {
          const saved = Object.fromEntries(
            (dir ? CA_VARIABLES : ['NODE_EXTRA_CA_CERTS']).map((name) => [name, env[name] ?? null]),
          );
          additions = {
            NODE_EXTRA_CA_CERTS: '',
            ...(dir && {
              NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --use-openssl-ca`.trimStart(),
              SSL_CERT_FILE: join(dir, EMPTY_CA_FILE),
              SSL_CERT_DIR: dir,
            }),
            [ORIGINAL_CA_ENV]: JSON.stringify(saved),
            [CA_RUNTIME_ENV]: runtime,
          };
        }
      }
    } catch {
      // Not provably equivalent: workers keep the user's setting.
    }
    computed.set(key, { additions, checked: now });
  }
  return additions;
}

/**
 * The environment of a worker process this machine starts (Node arguments the worker's entry
 * checks itself): this process's, with {@link workerCaEnvironment}'s additions. @internal
 */
export function workerEnvironment(): NodeJS.ProcessEnv {
  const additions = workerCaEnvironment();
  return Object.keys(additions).length === 0 ? process.env : { ...process.env, ...additions };
}
