import { readFileSync } from 'node:fs';
import { definePackageBuild } from '../../tooling/tsup.config.js';

const { version } = JSON.parse(
  readFileSync(new URL('./package.json', import.meta.url), 'utf8'),
) as { version: string };

// bin.js is what `toil` runs; each command is its own chunk, imported only when it runs.
export default definePackageBuild(['src/index.ts', 'src/bin.ts'], {
  dts: { entry: 'src/index.ts' },
  define: { __TOIL_CLI_VERSION__: JSON.stringify(version) },
  // Bundled: one file parses faster than yargs' many modules (start-up budget 0.2 s).
  noExternal: ['yargs', 'picocolors'],
});
