import { definePackageBuild } from '../../tooling/tsup.config.js';

export default definePackageBuild([
  'src/index.ts',
  'src/backend.ts',
  'src/testing.ts',
  'src/testing-writer.ts',
]);
