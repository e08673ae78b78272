import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ToilError } from '@toil/core';
import type { WorkflowCode } from '@toil/batch-system';
import { isTypeScript } from './worker-command.js';

/** Environment of a workflow program started from compiled code (set by `toil run`). @internal */
export const COMPILED_ENV = {
  source: 'TOIL_WORKFLOW_SOURCE',
  compiled: 'TOIL_WORKFLOW_COMPILED',
  hash: 'TOIL_WORKFLOW_HASH',
} as const;

/**
 * Where compiled workflows are kept: `$TOIL_TS_CACHE_DIR`, else `$XDG_CACHE_HOME/toil-ts/workflows`,
 * else `~/.cache/toil-ts/workflows`.
 */
export function workflowCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TOIL_TS_CACHE_DIR) return env.TOIL_TS_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'toil-ts', 'workflows');
}

interface EsbuildMessage {
  text: string;
  location?: { file: string; line: number; column: number } | null;
}

function syntaxError(source: string, error: unknown): ToilError {
  const first = (error as { errors?: EsbuildMessage[] }).errors?.[0];
  const where = first?.location
    ? `${isAbsolute(first.location.file) ? first.location.file : join(process.cwd(), first.location.file)}:${first.location.line}:${first.location.column + 1}`
    : source;
  const text = first?.text ?? (error instanceof Error ? error.message : String(error));
  return new ToilError('WORKFLOW_INVALID', `${where}: ${text}`, {
    hint: 'Fix the TypeScript at that line (the workflow was not started; nothing was stored).',
    cause: error,
  });
}

/**
 * Compiles a TypeScript workflow once into one JavaScript module (esbuild: the workflow file and
 * the local files it imports; packages stay imports, resolved now to absolute paths so the
 * output runs from any directory, except `@toil/*` packages not installed next to the workflow,
 * which stay bare for the CLI's resolve hook) with an inline source map to the `.ts` lines. The output is
 * content-addressed (`<sha256>.mjs` in {@link workflowCacheDir}): a `--restart`, another run
 * of the same code and every worker reuse it. JavaScript workflows are returned as they are.
 *
 * @throws ToilError `WORKFLOW_INVALID` naming the file, line and column of a syntax error.
 */
export async function compileWorkflow(
  source: string,
  cacheDir: string = workflowCacheDir(),
): Promise<WorkflowCode> {
  if (!isTypeScript(source)) return { source };
  const esbuild = await import('esbuild');
  const outfile = join(cacheDir, 'workflow.mjs');
  let output: string;
  try {
    const result = await esbuild.build({
      entryPoints: [source],
      bundle: true,
      write: false,
      outfile,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      // The package's own tsconfig paths (sources in a monorepo) are not what the JavaScript
      // loads at run time: packages resolve through node_modules.
      tsconfigRaw: {},
      plugins: [
        {
          name: 'toil-resolve-packages',
          setup(build) {
            build.onResolve({ filter: /^[^./]/ }, async (args) => {
              if (args.pluginData === 'toil-resolving' || args.path.startsWith('node:')) {
                return undefined;
              }
              const resolved = await build.resolve(args.path, {
                kind: args.kind,
                resolveDir: args.resolveDir,
                importer: args.importer,
                pluginData: 'toil-resolving',
              });
              if (resolved.errors.length === 0 && resolved.path) {
                return { path: resolved.path, external: true };
              }
              // Not installed next to the workflow: `toil run`'s resolve hook gives the CLI's
              // copy at run time, so the import stays as written.
              if (args.path.startsWith('@toil/')) return { path: args.path, external: true };
              return undefined;
            });
          },
        },
      ],
    });
    output = result.outputFiles.find((f) => f.path.endsWith('.mjs'))!.text;
  } catch (error) {
    throw syntaxError(source, error);
  }
  const hash = createHash('sha256').update(output).digest('hex');
  const compiled = join(cacheDir, `${hash}.mjs`);
  if (!existsSync(compiled)) {
    mkdirSync(cacheDir, { recursive: true });
    const temp = join(cacheDir, `.${hash}.${process.pid}.tmp`);
    writeFileSync(temp, output);
    renameSync(temp, compiled);
  }
  return { source, compiled, hash };
}
