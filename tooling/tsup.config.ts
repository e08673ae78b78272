import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
