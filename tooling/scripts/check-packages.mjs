#!/usr/bin/env node
// Runs publint and @arethetypeswrong/cli on every package's built output (run `pnpm build` first).
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
let failed = false;
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const cwd = join(root, 'packages', dir);
  if (!existsSync(join(cwd, 'package.json'))) continue;
  for (const [tool, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'node16', '--format', 'ascii']],
  ]) {
    const result = spawnSync(bin(tool), args, { cwd, encoding: 'utf8', timeout: 120_000 });
    const ok = result.status === 0;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${tool} packages/${dir}`);
    if (!ok) {
      failed = true;
      console.log((result.stdout + result.stderr).trim().replace(/^/gm, '     '));
    }
  }
}
process.exitCode = failed ? 1 : 0;
