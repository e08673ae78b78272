import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../../tooling/test-env/cli.js';

/**
 * `resolveBatchSystem(name, [from])` of the built `@toil/batch-system`, in a Node process of its
 * own (jest's module registry cannot require an ES module): the plugin's `build` mark, or the
 * error's message.
 */
function resolveInNode(name: string, from: string): string {
  const built = pathToFileURL(join(REPO_ROOT, 'packages/batch-system/dist/index.js')).href;
  const script = `import { resolveBatchSystem } from ${JSON.stringify(built)};
try { console.log(resolveBatchSystem(${JSON.stringify(name)}, [${JSON.stringify(from)}]).build); }
catch (error) { console.log('error: ' + error.message); }`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  expect(child.stderr).toBe('');
  return child.stdout.trim();
}

/**
 * A fake `@toil/batch-NAME` package in a fresh `node_modules`: `files` maps file names to
 * their text, `exports` is its manifest's `exports`. Returns the path of a workflow file next
 * to it (what `resolveBatchSystem` resolves from).
 */
function installPlugin(
  root: string,
  name: string,
  exports: unknown,
  files: Record<string, string>,
): string {
  const dir = join(root, 'node_modules', '@toil', `batch-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `@toil/batch-${name}`, version: '1.0.0', exports }),
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return join(root, 'wf.mjs');
}

const plugin = (name: string, build: string) =>
  `batchSystem = { name: '${name}', options: {}, create() { throw new Error('not here'); }, build: '${build}' }`;

const dualExports = {
  '.': {
    import: { types: './index.d.ts', default: './index.mjs' },
    require: { types: './index.d.cts', default: './index.cjs' },
  },
  './package.json': './package.json',
};

describe('a batch system package', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'toil-plugin-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('loads from its ES module entry, so that it shares the engine’s ES copies of @toil/*', () => {
    const from = installPlugin(root, 'dualbuild', dualExports, {
      'index.mjs': `export const ${plugin('dualbuild', 'esm')};\n`,
      'index.cjs': `exports.${plugin('dualbuild', 'cjs')};\n`,
    });
    expect(resolveInNode('dualbuild', from)).toBe('esm');
  });

  it('loads from its CommonJS entry when its ES module cannot be required (top-level await)', () => {
    const from = installPlugin(root, 'asyncesm', dualExports, {
      'index.mjs': `await Promise.resolve();\nexport const ${plugin('asyncesm', 'esm')};\n`,
      'index.cjs': `exports.${plugin('asyncesm', 'cjs')};\n`,
    });
    expect(resolveInNode('asyncesm', from)).toBe('cjs');
  });

  it('loads from its CommonJS entry when it has no ES module entry, or hides its manifest', () => {
    const cjsOnly = installPlugin(
      root,
      'cjsonly',
      { '.': './index.cjs' },
      {
        'index.cjs': `exports.${plugin('cjsonly', 'cjs')};\n`,
      },
    );
    expect(resolveInNode('cjsonly', cjsOnly)).toBe('cjs');
    const hidden = installPlugin(
      root,
      'hidden',
      { '.': { import: './index.mjs', require: './index.cjs' } },
      {
        'index.mjs': `export const ${plugin('hidden', 'esm')};\n`,
        'index.cjs': `exports.${plugin('hidden', 'cjs')};\n`,
      },
    );
    expect(resolveInNode('hidden', hidden)).toBe('cjs');
  });

  it('that throws while it loads is an error, not a silent fall-back to its other build', () => {
    const from = installPlugin(root, 'broken', dualExports, {
      'index.mjs': `throw new Error('plugin is broken');\n`,
      'index.cjs': `exports.${plugin('broken', 'cjs')};\n`,
    });
    expect(resolveInNode('broken', from)).toBe('error: plugin is broken');
  });
});

describe('the engine', () => {
  it('finds @toil/batch-slurm without loading CommonJS copies of @toil/core or @toil/batch-system', () => {
    const engine = pathToFileURL(join(REPO_ROOT, 'packages/workflow/dist/index.js')).href;
    const script = `import { createRequire } from 'node:module';
import { findBatchSystem } from ${JSON.stringify(engine)};
const plugin = findBatchSystem('slurm');
const cjs = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.endsWith('.cjs'));
console.log(JSON.stringify({ name: plugin.name, cjs }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: REPO_ROOT,
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ name: 'slurm', cjs: [] });
  });
});
