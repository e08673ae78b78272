import { definePackageBuild, indexInOneChunk } from '../../tooling/tsup.config.js';

/**
 * The modules loaded only after the index (in a process that runs the engine: a worker, the
 * leader, the contract suite): built as if each imported the index, so the index's graph (the
 * workers' modules included: index.ts imports them) is one chunk (see `indexInOneChunk`).
 */
const LOADED_AFTER_THE_INDEX =
  /[\\/]src[\\/](?:worker-one-shot|worker-warm|worker-main|worker-runtime|leader|single-machine|testing)\.ts$/;

export default definePackageBuild(
  [
    'src/index.ts',
    'src/run-workflow.ts',
    'src/early-worker.ts',
    'src/worker.ts',
    'src/testing.ts',
    'src/program-errors.ts',
  ],
  { esbuildPlugins: [indexInOneChunk(LOADED_AFTER_THE_INDEX)] },
);
