import { definePackageBuild } from '../../tooling/tsup.config.js';

/** What both builds of the CLI share. */
export const cliBuildOptions = {
  // Bundled: one file parses faster than yargs' many modules (start-up budget 0.2 s).
  noExternal: ['yargs', 'picocolors'],
};

// ESM: bin.js is what `toil` runs; each command is its own chunk, imported only when it runs.
// The CommonJS library entry is built after this by tsup.cjs.config.ts, as one file, so the
// package ships no CommonJS copies of the command chunks.
export default definePackageBuild(
  ['src/index.ts', 'src/bin.ts', 'src/resolve-toil.ts', 'src/resolve-toil-hooks.ts'],
  {
    ...cliBuildOptions,
    format: ['esm'],
    dts: { entry: 'src/index.ts' },
  },
);
