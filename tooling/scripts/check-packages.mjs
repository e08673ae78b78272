#!/usr/bin/env node
// Runs publint and @arethetypeswrong/cli on the packed tarball of every packages/* package:
// what npm users get, not the workspace folders. `node check-packages.mjs [TARBALL_DIR]`
// checks the tarballs already in TARBALL_DIR (the release rehearsal test passes its own);
// without it, every package is packed with `pnpm -r pack` first (run `pnpm build` before).
//
// attw runs with `--profile node16` (node16 and bundler resolution, ESM and CJS): the
// `node10` resolution (TypeScript's legacy `moduleResolution: node`) cannot see subpath
// exports such as `@toil/jobstore/testing`; we do not support it (see CONTRIBUTING.md).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const scratch = mkdtempSync(join(tmpdir(), 'toil-check-packages-'));
let failed = false;

async function check(tarball, dir) {
  const name = tarball.replace(/-\d+\.\d+\.\d+.*\.tgz$/, '');
  const unpacked = join(scratch, name);
  mkdirSync(unpacked);
  await run('tar', ['-xzf', join(dir, tarball), '-C', unpacked, '--strip-components=1']);
  for (const [tool, args] of [
    ['publint', ['--strict', unpacked]],
    ['attw', [join(dir, tarball), '--profile', 'node16', '--format', 'ascii']],
  ]) {
    let output = '';
    let ok = true;
    try {
      await run(bin(tool), args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      ok = false;
      output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    }
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${tool} ${tarball}`);
    if (!ok) {
      failed = true;
      console.log(output.replace(/^/gm, '     '));
    }
  }
}

try {
  let dir = process.argv[2];
  if (!dir) {
    dir = join(scratch, 'tarballs');
    await run('pnpm', ['-r', 'pack', '--pack-destination', dir], { cwd: root });
  }
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length === 0) throw new Error(`no tarballs in ${dir}`);
  // Two at a time: the machine has two cores.
  const queue = [...tarballs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await check(next, dir);
    }),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
