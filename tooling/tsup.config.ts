import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';

/**
 * Makes every source map in `outDir` portable: tsup's CJS post-processing writes the absolute
 * build path into `file` and into a self-reference in `sources`; both become relative to the
 * map, so a published map names no path of the machine that built it. Sources stay embedded
 * (`sourcesContent`), because `src/` is not shipped.
 */
export function relativizeSourceMaps(outDir: string): void {
  const dir = resolve(outDir);
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.map')) continue;
    const path = join(dir, name);
    const map = JSON.parse(readFileSync(path, 'utf8')) as {
      file?: string;
      sources: string[];
      sourceRoot?: string;
    };
    map.file = basename(name, '.map');
    map.sources = map.sources.map((source) =>
      isAbsolute(source) ? relative(dir, source) : source,
    );
    delete map.sourceRoot;
    writeFileSync(path, JSON.stringify(map));
  }
}

/**
 * The version in the `package.json` of the package being built (tsup runs in its folder).
 * Every build defines it as `__TOIL_PACKAGE_VERSION__`, so a package can report its own
 * version without reading its manifest at run time.
 */
export function packageVersion(dir: string = process.cwd()): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/**
 * The one build configuration every package uses: ESM + CJS + type declarations for both,
 * targeting the Node version in `engines`, with portable source maps that carry their sources,
 * and `__TOIL_PACKAGE_VERSION__` defined as the package's version.
 * A package's own tsup.config.ts calls this with its entry points.
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
    onSuccess: async () => relativizeSourceMaps('dist'),
    ...extra,
    define: { __TOIL_PACKAGE_VERSION__: JSON.stringify(packageVersion()), ...extra.define },
  });
}

/**
 * An esbuild plugin that builds the source files `modules` matches as if each also imported the
 * package's index (`./index.js` next to them). The bundler makes a chunk per set of entry
 * points (dynamic imports included) that reach a module: an entry point or lazily imported
 * module that shares part of the index's graph splits that graph into several chunks, and a
 * process that loads the index reads each of them (every file costs a worker process its
 * resolution, read, compile and link). Made to reach the whole index, they leave the index's
 * graph one chunk. Only for modules that are loaded after the index anyway, or that are not
 * on a start-up path (testing entry points); the sources keep no import cycle.
 */
export function indexInOneChunk(modules: RegExp): NonNullable<Options['esbuildPlugins']>[number] {
  return {
    name: 'toil-index-in-one-chunk',
    setup(build) {
      build.onLoad({ filter: modules }, async ({ path }) => ({
        contents: `${await readFile(path, 'utf8')}\nimport './index.js';\n`,
        loader: 'ts',
      }));
    },
  };
}
