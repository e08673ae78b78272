import { readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileWorkflow } from '../src/compile.js';
import { scratch } from './helpers.js';

function workflowFiles(dir: string): { main: string; helper: string } {
  const main = join(dir, 'wf.ts');
  const helper = join(dir, 'helper.ts');
  writeFileSync(helper, "export const greeting: string = 'hello';\n");
  writeFileSync(
    main,
    "import { greeting } from './helper.js';\nexport function hello(): string {\n  return greeting;\n}\n",
  );
  // Whole seconds in the past, so that setting the same time again gives the same stat.
  const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60000);
  for (const file of [main, helper]) utimesSync(file, past, past);
  return { main, helper };
}

/** Rewrites `path` with `text` of the same length, keeping its modification time. */
function sameSizeSameTime(path: string, text: string): void {
  const before = statSync(path);
  expect(Buffer.byteLength(text)).toBe(before.size);
  writeFileSync(path, text);
  utimesSync(path, before.atime, before.mtime);
}

describe('compiling a TypeScript workflow', () => {
  it('trusts the sizes and times of the files it read, as make does: an unchanged workflow is not bundled again', async () => {
    const dir = scratch();
    const cache = join(dir, 'cache');
    const { main, helper } = workflowFiles(dir);
    const first = await compileWorkflow(main, cache);
    expect(readFileSync(first.compiled!, 'utf8')).toContain('"hello"');
    // A change esbuild would see but the memo cannot: the cached compilation is used as is.
    sameSizeSameTime(helper, "export const greeting: string = 'howdy';\n");
    const second = await compileWorkflow(main, cache);
    expect(second).toEqual(first);
  });

  it('compiles again when a file it imports changed, or the memo is gone', async () => {
    const dir = scratch();
    const cache = join(dir, 'cache');
    const { main, helper } = workflowFiles(dir);
    const first = await compileWorkflow(main, cache);
    writeFileSync(helper, "export const greeting: string = 'good morning';\n");
    const second = await compileWorkflow(main, cache);
    expect(second.hash).not.toBe(first.hash);
    expect(readFileSync(second.compiled!, 'utf8')).toContain('"good morning"');

    // Without its memo, the workflow is bundled again and the same-size edit is seen.
    sameSizeSameTime(helper, "export const greeting: string = 'good evening';\n");
    for (const file of readdirSync(cache).filter((f) => f.startsWith('inputs-'))) {
      rmSync(join(cache, file));
    }
    const third = await compileWorkflow(main, cache);
    expect(readFileSync(third.compiled!, 'utf8')).toContain('"good evening"');
  });
});
