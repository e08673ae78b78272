import { definePackageBuild, indexInOneChunk } from '../../tooling/tsup.config.js';

/**
 * The entry points other than the index (a backend's base class, the contract suite): built as
 * if each imported the index, so a process that opens a store reads the index's graph as one
 * chunk, not one chunk per set of entry points that share a part of it.
 */
export default definePackageBuild(
  ['src/index.ts', 'src/backend.ts', 'src/testing.ts', 'src/testing-writer.ts'],
  {
    esbuildPlugins: [
      indexInOneChunk(/[\\/]src[\\/](?:backend|testing|testing-writer|schemas)\.ts$/),
    ],
  },
);
