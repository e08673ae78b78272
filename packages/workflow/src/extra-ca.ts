import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { workflowCacheDir, writeAtomically } from './cache-dir.js';
import { CA_RUNTIME_ENV, caRuntime, ORIGINAL_CA_ENV, selectsOtherCaStore } from './worker-ca.js';

// Node parses its bundled roots and the whole NODE_EXTRA_CA_CERTS file at every start when the
// variable is set (~70 ms of CPU for a 144-certificate system bundle), and then trusts their
// union. Workers get a file of only the certificates Node does not bundle: the same union.

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
    new X509Certificate(der);
    certificates.push(der.toString('base64'));
  }
  const begins = text.split('-----BEGIN ').length - 1;
  return certificates.length > 0 && begins === certificates.length ? certificates : undefined;
}

/** PEM text of certificates given as base64 DER. */
function pemOf(certificates: readonly string[]): string {
  return certificates
    .map(
      (der) =>
        `-----BEGIN CERTIFICATE-----\n${der.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`,
    )
    .join('');
}

/**
 * The certificates of the PEM text `text` that are not among `bundled` (PEM texts, as
 * `tls.rootCertificates`), compared by their DER bytes, as PEM text (empty when every one is
 * bundled); undefined when `text` holds anything but well-formed certificates, or none.
 * @internal
 */
export function unbundledCertificates(
  text: string,
  bundled: readonly string[],
): string | undefined {
  const certificates = certificatesOf(text);
  if (!certificates) return undefined;
  const known = new Set(bundled.flatMap((pem) => certificatesOf(pem) ?? []));
  return pemOf(certificates.filter((der) => !known.has(der)));
}

interface Memo {
  /** The smaller file's name in the cache directory; null when every certificate is bundled. */
  file: string | null;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The file workers take instead of the extra-CA file `path` (absolute): a content-addressed
 * file in `cacheDir` ('' when Node bundles every certificate of `path`), computed once per
 * file version and Node runtime (a memo makes later calls one stat, one small read and one
 * existsSync). Undefined when not provably equivalent: `path` unreadable, or holding anything
 * but certificates.
 */
function smallerCaFile(path: string, cacheDir: string): string | undefined {
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
  const memoName = `memo-${sha256(key)}.json`;
  const memo = readMemo(join(cacheDir, memoName));
  if (memo) {
    if (memo.file === null) return '';
    const file = join(cacheDir, memo.file);
    if (existsSync(file)) return file;
  }
  const text = readFileSync(path);
  if (text.length !== stat.size) return undefined;
  const { rootCertificates } = process.getBuiltinModule('node:tls');
  const smaller = unbundledCertificates(text.toString('latin1'), rootCertificates);
  if (smaller === undefined) return undefined;
  const name = smaller === '' ? null : `${sha256(smaller)}.pem`;
  if (name !== null) writeAtomically(cacheDir, name, smaller);
  writeAtomically(cacheDir, memoName, JSON.stringify({ file: name } satisfies Memo));
  return name === null ? '' : join(cacheDir, name);
}

function readMemo(path: string): Memo | undefined {
  try {
    const memo = JSON.parse(readFileSync(path, 'utf8')) as Memo;
    return memo.file === null || /^[0-9a-f]{64}\.pem$/.test(String(memo.file)) ? memo : undefined;
  } catch {
    return undefined;
  }
}

const computed = new Map<string, Record<string, string>>();

/**
 * The environment additions that give a worker started with the Node arguments `nodeArgs`
 * the same trust store as the user's `NODE_EXTRA_CA_CERTS` at a fraction of Node's start-up
 * cost: `NODE_EXTRA_CA_CERTS` naming a file of only the certificates Node does not bundle
 * (empty when it bundles all), the user's value and this Node's runtime for the worker to put
 * back and check (`restoreUserCaCerts` in the worker's entry). Nothing when the variable is not
 * set, or when the smaller file is not provably equivalent: a relative path, Node arguments or
 * `NODE_OPTIONS` that select another CA store, a Node built to use OpenSSL's store, a file that
 * cannot be read or holds anything but certificates, or any other failure (never throws).
 * Computed once per process and setting (and again if its file was removed).
 */
export function workerCaEnvironment(
  nodeArgs: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const original = env.NODE_EXTRA_CA_CERTS;
  if (!original || env[ORIGINAL_CA_ENV] !== undefined) return {};
  const cacheDir = join(workflowCacheDir(env), 'node-extra-ca');
  const key = JSON.stringify([original, env.NODE_OPTIONS, nodeArgs, cacheDir]);
  let additions = computed.get(key);
  // A file removed meanwhile (the cache cleaned) is made again, not left for workers to miss.
  if (additions?.NODE_EXTRA_CA_CERTS && !existsSync(additions.NODE_EXTRA_CA_CERTS))
    additions = undefined;
  if (!additions) {
    additions = {};
    try {
      const runtime = caRuntime();
      if (
        isAbsolute(original) &&
        !runtime.endsWith('openssl-ca') &&
        !selectsOtherCaStore([...nodeArgs, env.NODE_OPTIONS ?? ''])
      ) {
        const file = smallerCaFile(original, cacheDir);
        if (file !== undefined)
          additions = {
            NODE_EXTRA_CA_CERTS: file,
            [ORIGINAL_CA_ENV]: original,
            [CA_RUNTIME_ENV]: runtime,
          };
      }
    } catch {
      // Not provably equivalent: workers keep the user's setting.
    }
    computed.set(key, additions);
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
