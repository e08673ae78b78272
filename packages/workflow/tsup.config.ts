import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';
import { definePackageBuild } from '../../tooling/tsup.config.js';

/**
 * The modules loaded only after the index (in a process that runs the engine: a worker, the
 * leader, the contract suite). The bundler makes a chunk per set of entry points (dynamic
 * imports included) that reach a module, so each of them split the index's graph into ~15
 * chunks, and every worker process read ~20 files. Built as if each imported the index (no
 * cycle in the sources: the `import-x/no-cycle` rule holds), they reach the same set and the
 * index's graph, the workers' modules included (index.ts imports them), is one chunk: a
 * one-shot worker reads 7 files of this package.
 */
const LOADED_AFTER_THE_INDEX =
  /[\\/]src[\\/](?:worker-one-shot|worker-warm|worker-main|worker-runtime|leader|single-machine|testing)\.ts$/;

const oneChunk: Plugin = {
  name: 'toil-workflow-one-chunk',
  setup(build) {
    build.onLoad({ filter: LOADED_AFTER_THE_INDEX }, async ({ path }) => ({
      contents: `${await readFile(path, 'utf8')}\nimport './index.js';\n`,
      loader: 'ts',
    }));
  },
};

export default definePackageBuild(
  [
    'src/index.ts',
    'src/run-workflow.ts',
    'src/early-worker.ts',
    'src/worker.ts',
    'src/testing.ts',
    'src/program-errors.ts',
  ],
  { esbuildPlugins: [oneChunk] },
);
