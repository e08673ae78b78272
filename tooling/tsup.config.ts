import { defineConfig, type Options } from 'tsup';

/**
 * The one build configuration every package uses: ESM + CJS + type declarations for both,
 * targeting the Node version in `engines`. A package's own tsup.config.ts calls this with its
 * entry points.
 */
export function definePackageBuild(
  entry: Options['entry'] = ['src/index.ts'],
  extra: Options = {},
) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: true,
    shims: true,
    treeshake: false,
    ...extra,
  });
}
