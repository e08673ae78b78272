import { definePackageBuild } from '../../tooling/tsup.config.js';
import { cliBuildOptions } from './tsup.config.js';

// The CommonJS form of the library entry only (`require('@toil/cli')`), without chunks: the
// `toil` bin is ESM and never loads it. Runs after tsup.config.ts, so it must not clean.
export default definePackageBuild(['src/index.ts'], {
  ...cliBuildOptions,
  format: ['cjs'],
  splitting: false,
  clean: false,
  dts: { entry: 'src/index.ts' },
});
