import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ToilError } from '@toil/core';
import type { WorkflowCode } from '@toil/batch-system';
import { PACKAGE_CODE_DIR } from './here.js';
import { absoluteSourceMap, sourceBanner } from './module-origin.js';
import { workflowCacheDir, writeAtomically } from './cache-dir.js';
import type { JobStore } from '@toil/jobstore';
import { isTypeScript } from './worker-command.js';

export { workflowCacheDir } from './cache-dir.js';

/** Environment of a workflow program started from compiled code (set by `toil run`). @internal */
export const COMPILED_ENV = {
  source: 'TOIL_WORKFLOW_SOURCE',
  compiled: 'TOIL_WORKFLOW_COMPILED',
  hash: 'TOIL_WORKFLOW_HASH',
} as const;

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

/** What a compilation read: enough to know, without esbuild, that it would give the same output. */
interface CompileMemo {
  v: 3;
  esbuild: string;
  source: string;
  /** Local files bundled in (absolute), with what they were when compiled. */
  inputs: Array<{ path: string; size: number; mtimeMs: number }>;
  /** Package files the output imports by absolute path. */
  externals: string[];
  /** `@toil/*` imports left bare (not installed next to the workflow), for the CLI's resolve hook. */
  bareToil: string[];
  hash: string;
}

/**
 * A compilation: the {@link WorkflowCode} and, for TypeScript, the `@toil/*` imports the output
 * leaves bare because they are not installed next to the workflow (empty: the output resolves
 * every import by absolute path).
 */
export interface CompiledWorkflow extends WorkflowCode {
  /** Bare `@toil/*` imports of the compiled output (TypeScript only). */
  bareToil?: string[];
}

function memoPath(source: string, cacheDir: string): string {
  return join(cacheDir, `inputs-${sha256().update(source).digest('hex')}.json`);
}

/**
 * The cached compilation of `source` when nothing it was compiled from changed (same size and
 * modification time of every bundled file, every imported package file still there, the same
 * esbuild): checking costs a few `stat`s instead of loading esbuild and bundling.
 */
function memoized(source: string, cacheDir: string): CompiledWorkflow | undefined {
  let memo: CompileMemo;
  try {
    memo = JSON.parse(readFileSync(memoPath(source, cacheDir), 'utf8')) as CompileMemo;
  } catch {
    return undefined;
  }
  if (memo.v !== 3 || memo.source !== source || !/^[0-9a-f]{64}$/.test(memo.hash)) return undefined;
  const compiled = join(cacheDir, `${memo.hash}.mjs`);
  if (!existsSync(compiled)) return undefined;
  for (const input of memo.inputs) {
    try {
      const st = statSync(input.path);
      if (st.size !== input.size || st.mtimeMs !== input.mtimeMs) return undefined;
    } catch {
      return undefined;
    }
  }
  if (!memo.externals.every((path) => existsSync(path))) return undefined;
  // esbuild's own version: a newer one may compile differently (read without loading it).
  if (memo.esbuild !== esbuildVersion()) return undefined;
  return { source, compiled, hash: memo.hash, bareToil: memo.bareToil };
}

let cachedEsbuildVersion: string | undefined;

function esbuildVersion(): string {
  if (cachedEsbuildVersion === undefined) {
    const require = createRequire(join(PACKAGE_CODE_DIR, 'noop.js'));
    const manifest = JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')) as {
      version: string;
    };
    cachedEsbuildVersion = manifest.version;
  }
  return cachedEsbuildVersion;
}

/**
 * Compiles a TypeScript workflow once into one JavaScript module (esbuild: the workflow file and
 * the local files it imports; packages stay imports, resolved now to absolute paths so the
 * output runs from any directory, except `@toil/*` packages not installed next to the workflow,
 * which stay bare for the CLI's resolve hook) with an inline source map to the `.ts` lines. The output is
 * content-addressed (`<sha256>.mjs` in {@link workflowCacheDir}): a `--restart`, another run
 * of the same code and every worker reuse it. What a compilation read is kept beside it
 * (`inputs-<sha256 of the path>.json`), so a run whose files did not change finds its
 * JavaScript without loading esbuild. JavaScript workflows are returned as they are.
 *
 * @throws ToilError `WORKFLOW_INVALID` naming the file, line and column of a syntax error.
 */
export async function compileWorkflow(
  source: string,
  cacheDir: string = workflowCacheDir(),
): Promise<CompiledWorkflow> {
  if (!isTypeScript(source)) return { source };
  const known = memoized(source, cacheDir);
  if (known) return known;
  const esbuild = await import('esbuild');
  const externals = new Set<string>();
  const bareToil = new Set<string>();
  const outfile = join(cacheDir, 'workflow.mjs');
  let output: string;
  let inputs: string[];
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
      // Names the user's file, for messages of workers that load this output.
      banner: { js: sourceBanner(resolve(source)) },
      metafile: true,
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
                externals.add(resolved.path);
                return { path: resolved.path, external: true };
              }
              // Not installed next to the workflow: `toil run`'s resolve hook gives the CLI's
              // copy at run time, so the import stays as written.
              if (args.path.startsWith('@toil/')) {
                bareToil.add(args.path);
                return { path: args.path, external: true };
              }
              return undefined;
            });
          },
        },
      ],
    });
    // Sources as absolute file URLs, so that a copy loaded from elsewhere (another machine's
    // cache, taken from the job store) still names the user's files.
    output = absoluteSourceMap(
      result.outputFiles.find((f) => f.path.endsWith('.mjs'))!.text,
      cacheDir,
    );
    inputs = Object.keys(result.metafile.inputs).map((input) =>
      isAbsolute(input) ? input : resolve(process.cwd(), input),
    );
  } catch (error) {
    throw syntaxError(source, error);
  }
  const hash = sha256().update(output).digest('hex');
  const compiled = join(cacheDir, `${hash}.mjs`);
  if (!existsSync(compiled)) writeAtomically(cacheDir, `${hash}.mjs`, output);
  const memo: CompileMemo = {
    v: 3,
    esbuild: esbuildVersion(),
    source,
    inputs: inputs.map((path) => {
      const st = statSync(path);
      return { path, size: st.size, mtimeMs: st.mtimeMs };
    }),
    externals: [...externals],
    bareToil: [...bareToil],
    hash,
  };
  writeAtomically(cacheDir, basename(memoPath(source, cacheDir)), JSON.stringify(memo));
  return { source, compiled, hash, bareToil: memo.bareToil };
}

/**
 * Keeps the compiled module in the job store (shared file `workflow-code`), for workers on
 * machines that see neither the workflow file nor the leader's compile cache (cluster nodes
 * without a shared file system). Only what {@link compileWorkflow} made is stored.
 */
export async function storeWorkflowCode(store: JobStore, code: WorkflowCode): Promise<void> {
  if (!code.compiled || !code.hash) return;
  await store.writeSharedFile('workflow-code', readFileSync(code.compiled));
}

/**
 * The compiled module for `code` on this machine, taken from the job store's `workflow-code`
 * when it is the same content (its SHA-256 is `code.hash`), into the local cache.
 *
 * @throws ToilError `WORKFLOW_INVALID` when the store holds no such code.
 */
export async function fetchWorkflowCode(
  store: JobStore,
  code: WorkflowCode,
  cacheDir: string = workflowCacheDir(),
): Promise<string> {
  const stored = code.hash ? await store.readSharedFile('workflow-code') : undefined;
  const hash = stored && sha256().update(stored).digest('hex');
  if (!stored || hash !== code.hash)
    throw new ToilError(
      'WORKFLOW_INVALID',
      `The workflow ${code.source} is not on this machine and the job store holds no copy of its compiled code${stored ? ' of this version' : ''}.`,
      {
        hint: 'Run the workflow with toil run (it stores the code for other machines), or make the file visible on every node at the same path.',
      },
    );
  const compiled = join(cacheDir, `${hash}.mjs`);
  if (!existsSync(compiled)) writeAtomically(cacheDir, `${hash}.mjs`, stored);
  return compiled;
}

/** A SHA-256 hash. node:crypto loads on first use: every worker loads this module. */
function sha256(): import('node:crypto').Hash {
  return process.getBuiltinModule('node:crypto').createHash('sha256');
}
