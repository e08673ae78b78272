import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// The cache toil-ts keeps on a machine (compiled workflows, the workers' extra CA file), apart
// from compile.ts so that the early pool worker's code can use it without `@toil/core`.

/**
 * Where compiled workflows are kept: `$TOIL_TS_CACHE_DIR`, else `$XDG_CACHE_HOME/toil-ts/workflows`,
 * else `~/.cache/toil-ts/workflows`.
 */
export function workflowCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TOIL_TS_CACHE_DIR) return env.TOIL_TS_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'toil-ts', 'workflows');
}

/**
 * Writes `dir/name` whole or not at all (a temporary file renamed over it), creating `dir`:
 * readers never see a partial file. @internal
 */
export function writeAtomically(dir: string, name: string, text: string | Uint8Array): void {
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, join(dir, name));
}
