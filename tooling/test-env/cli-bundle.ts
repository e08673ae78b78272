import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCommand } from './cli.js';

/**
 * Makes a self-contained install of the built `@toil/cli` in `dir` (its `dist/`, a
 * `package.json` and a `node_modules/` with every production dependency, workspace packages
 * copied in), for `launch-cluster --toilPackage DIR`: simulated nodes reach no registry.
 * It uses `pnpm deploy` from the local store only (`--offline`, files copied), after `pnpm build`.
 */
export async function buildCliBundle(dir: string): Promise<string> {
  const argv = [
    'pnpm',
    '--config.inject-workspace-packages=true',
    // Copies, not hard links into the pnpm store: another install on this machine changes the
    // store files' link counts (ctime), and tar refuses a file that changed while packing it.
    '--config.package-import-method=copy',
    '--filter',
    '@toil/cli',
    'deploy',
    '--prod',
    '--offline',
    dir,
  ];
  const result = await runCommand(argv, { cwd: REPO_ROOT });
  if (result.code !== 0 || !existsSync(join(dir, 'node_modules')))
    throw new Error(
      `pnpm deploy of @toil/cli failed (${result.code}):\n${result.stderr}${result.stdout}`,
    );
  return dir;
}
