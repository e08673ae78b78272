import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalRegistry, type LocalRegistry } from './npm-registry.js';

const run = promisify(execFile);

/** What a command printed; a failed command throws with both streams in its message. */
export interface Output {
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion (no shell). A non-zero exit throws an error whose message has
 * the command, its exit status, stdout and stderr.
 */
export async function exec(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Output> {
  try {
    const { stdout, stderr } = await run(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      timeout: options.timeoutMs ?? 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${argv.join(' ')} failed (${String(e.code ?? e.message)})\n--- stdout\n${e.stdout ?? ''}\n--- stderr\n${e.stderr ?? ''}`,
      { cause: error },
    );
  }
}

/**
 * This process's environment without what would make a command see the workspace or another
 * registry: npm/pnpm settings inherited from `pnpm test` (`npm_config_*`), `NODE_OPTIONS`,
 * `NODE_PATH` and proxies. `extra` is added last.
 */
export function outsideEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|node_options$|node_path$|(https?|all|no)_proxy$)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Packed `@toil/*` tarballs, served with the workspace's third-party packages by a local registry. */
export interface ReleaseRegistry {
  /** Where `pnpm pack` wrote one tarball per package (`workspace:` ranges rewritten). */
  readonly tarballDir: string;
  readonly registry: LocalRegistry;
  /**
   * Runs `npm install SPECS` in `dir` (created, with a `package.json`), or `npm install -g
   * --prefix dir SPECS` with `global`, against the local registry only: its own npm cache and
   * empty user/global npmrc under `scratch`, no audit, no install scripts (see README: the
   * release rehearsal).
   */
  install(dir: string, specs: string[], options?: { global?: boolean }): Promise<Output>;
  /** Stops the registry. */
  stop(): Promise<void>;
}

/**
 * Packs every workspace package into `<scratch>/tarballs` with `pnpm -r pack` (run `pnpm build`
 * first) and starts the local registry (`npm-registry.ts`) that serves them with the
 * workspace's third-party packages, so npm installs them as a user would, offline.
 */
export async function startReleaseRegistry(
  workspaceRoot: string,
  scratch: string,
): Promise<ReleaseRegistry> {
  const tarballDir = join(scratch, 'tarballs');
  await exec(['pnpm', '-r', '--reporter=silent', 'pack', '--pack-destination', tarballDir], {
    cwd: workspaceRoot,
  });
  const registry = await startLocalRegistry({ workspaceRoot, tarballDir });
  const npmrc = join(scratch, 'npmrc');
  const globalNpmrc = join(scratch, 'global-npmrc');
  writeFileSync(npmrc, '');
  writeFileSync(globalNpmrc, '');
  const env = outsideEnv({
    npm_config_registry: registry.url,
    npm_config_cache: join(scratch, 'npm-cache'),
    npm_config_userconfig: npmrc,
    npm_config_globalconfig: globalNpmrc,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    // Install scripts would reach the internet: ssh2's optional native binding runs node-gyp,
    // which downloads Node's headers. esbuild needs none (its platform package is a dependency).
    npm_config_ignore_scripts: 'true',
    npm_config_loglevel: 'error',
  });
  return {
    tarballDir,
    registry,
    async install(dir, specs, options = {}) {
      mkdirSync(dir, { recursive: true });
      if (options.global)
        return exec(['npm', 'install', '-g', '--prefix', dir, ...specs], { cwd: dir, env });
      writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
      return exec(['npm', 'install', ...specs], { cwd: dir, env });
    },
    stop: () => registry.stop(),
  };
}
