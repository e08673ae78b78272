import { definePackageBuild } from '../../tooling/tsup.config.js';

export default definePackageBuild([
  'src/index.ts',
  'src/run-workflow.ts',
  'src/early-worker.ts',
  'src/worker.ts',
  'src/testing.ts',
  'src/program-errors.ts',
]);
