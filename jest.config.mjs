import { existsSync, readdirSync } from 'node:fs';

// Every packages/* directory with a package.json, so that an unknown @toil/* name stays unresolved
// (as it would be when installed) instead of a jest configuration error.
const packages = readdirSync(new URL('./packages', import.meta.url)).filter((name) =>
  existsSync(new URL(`./packages/${name}/package.json`, import.meta.url)),
);
const names = `(${packages.join('|')})`;

/** One jest preset for every package: swc transpiles TS to CJS; types are checked by `pnpm typecheck`. */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/tooling'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
    ],
  },
  // gaxios (under @google-cloud/compute) loads node-fetch with a dynamic import(), which jest's
  // CommonJS VM cannot run: transpile gaxios too and map node-fetch to Node's fetch. p-limit
  // (core's concurrency limiter) and its yocto-queue are ES modules only: transpiled as well.
  transformIgnorePatterns: ['^(?!.*/node_modules/(gaxios|p-limit|yocto-queue)/).*/node_modules/'],
  moduleNameMapper: {
    '^node-fetch$': '<rootDir>/tooling/test-env/jest-node-fetch.cjs',
    [`^@toil/${names}$`]: '<rootDir>/packages/$1/src/index.ts',
    [`^@toil/${names}/(.+)$`]: '<rootDir>/packages/$1/src/$2.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // The slowest files (simulated clouds) first, so neither worker ends with one alone.
  testSequencer: '<rootDir>/tooling/test-env/jest-sequencer.cjs',
  testTimeout: 60000,
  maxWorkers: 2,
};
