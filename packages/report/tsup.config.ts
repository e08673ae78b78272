import { definePackageBuild } from '../../tooling/tsup.config.js';

export default definePackageBuild();
