// What a worker does first with the CA store the leader gave it (see extra-ca.ts): kept apart
// and free of imports, so the worker entry checks it before it loads anything.

/**
 * The user's own values of the variables the leader changed for a worker's CA store (JSON: each
 * name to its value, null where it was not set). @internal
 */
export const ORIGINAL_CA_ENV = 'TOIL_ORIGINAL_NODE_EXTRA_CA_CERTS';

/** The Node and OpenSSL the store was computed for ({@link caRuntime}). @internal */
export const CA_RUNTIME_ENV = 'TOIL_NODE_EXTRA_CA_CERTS_FOR';

/**
 * This Node's version, its OpenSSL's, and whether it was built to trust OpenSSL's store instead
 * of its bundled roots: what decides which roots an extra-CA file adds to. @internal
 */
export function caRuntime(): string {
  const variables = process.config.variables as unknown as Record<string, unknown>;
  const openSslCa = Boolean(variables.node_use_openssl_ca);
  return `node ${process.versions.node} openssl ${process.versions.openssl}${openSslCa ? ' openssl-ca' : ''}`;
}

const OTHER_CA_STORE =
  /(?:^|\s)--(?:use[-_]openssl[-_]ca|use[-_]bundled[-_]ca|openssl[-_]\S*|enable[-_]fips|force[-_]fips)(?=\s|=|$)/;

/**
 * True when Node arguments or `NODE_OPTIONS` text among `words` may make Node trust another set
 * of roots than its bundled ones (OpenSSL's store, an OpenSSL configuration, FIPS). @internal
 */
export function selectsOtherCaStore(words: readonly string[]): boolean {
  return words.some((word) => OTHER_CA_STORE.test(word));
}

/**
 * In a worker started with the leader's CA store (see `workerCaEnvironment`): makes Node's
 * trust store from the hashed directory it was given (OpenSSL reads `SSL_CERT_FILE` and
 * `SSL_CERT_DIR` when the store is made, so before they change), then puts the user's values
 * back (for the jobs and their processes) and removes the helper variables. False when this
 * process may trust other roots than the user's setting gives: another Node or OpenSSL than the
 * store was computed for, Node arguments that select another store, or the store not readable
 * here (nothing made then); the worker then runs again with the user's setting
 * ({@link rerunWithUserCaCerts}). True otherwise, and for a worker started with the user's own
 * setting. @internal
 */
export function restoreUserCaCerts(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): boolean {
  const saved = env[ORIGINAL_CA_ENV];
  if (saved === undefined) return true;
  let original: Record<string, string | null>;
  try {
    original = JSON.parse(saved) as Record<string, string | null>;
  } catch {
    original = {};
  }
  const storeDir = 'SSL_CERT_DIR' in original ? env.SSL_CERT_DIR : undefined;
  const equivalent =
    env[CA_RUNTIME_ENV] === caRuntime() &&
    !selectsOtherCaStore([
      ...execArgv,
      ('NODE_OPTIONS' in original ? original.NODE_OPTIONS : env.NODE_OPTIONS) ?? '',
    ]) &&
    (!storeDir || (readable(env.SSL_CERT_FILE) && readable(storeDir)));
  if (equivalent && storeDir) process.getBuiltinModule('node:tls').createSecureContext();
  for (const [name, value] of Object.entries(original)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  delete env[ORIGINAL_CA_ENV];
  delete env[CA_RUNTIME_ENV];
  return equivalent;
}

function readable(path: string | undefined): boolean {
  if (!path) return false;
  const fs = process.getBuiltinModule('node:fs');
  try {
    fs.accessSync(path, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs this worker again (same Node, arguments and, after {@link restoreUserCaCerts}, the
 * user's environment) with the standard streams and any IPC channel passed through and
 * termination signals forwarded; resolves to its exit status, or ends this process with its
 * signal. @internal
 */
export function rerunWithUserCaCerts(): Promise<number> {
  const { spawn } = process.getBuiltinModule('node:child_process');
  const ipc = typeof process.send === 'function';
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ipc ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit',
    env: process.env,
  });
  if (ipc) {
    child.on('message', (message) => process.send!(message));
    process.on('message', (message) => child.send(message as never));
    process.on('disconnect', () => child.disconnect());
  }
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      if (signal) process.kill(process.pid, signal);
      resolve(code ?? 1);
    });
  });
}
