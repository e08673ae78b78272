#!/usr/bin/env node
// Benchmark runner: `pnpm bench <name> [more names] [--json FILE]`.
// Each bench/<name>.mjs default-exports `async function run(options)` resolving to rows
// `{ name, value, unit, target?, better?: 'lower' | 'higher', note? }`. The runner prints a table and
// the same rows as JSON, and writes bench/results/<name>.json. Benchmarks run the BUILT packages:
// run `pnpm build` first.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && !['run.mjs', 'lib.mjs'].includes(f))
  .map((f) => f.replace(/\.mjs$/, ''));

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('-'));
if (names.length === 0 || args.includes('--help')) {
  console.log(`Usage: pnpm bench <name>... \nBenchmarks: ${available.join(', ')}`);
  process.exit(names.length === 0 && !args.includes('--help') ? 2 : 0);
}

function verdict(row) {
  if (row.target === undefined) return '';
  const better = row.better ?? 'lower';
  const ok = better === 'lower' ? row.value <= row.target : row.value >= row.target;
  return ok ? 'ok' : 'MISSED';
}

function printTable(rows) {
  const cells = rows.map((r) => [
    r.name,
    typeof r.value === 'number'
      ? Number.isInteger(r.value)
        ? String(r.value)
        : r.value.toFixed(3)
      : String(r.value),
    r.unit ?? '',
    r.target === undefined ? '' : `${(r.better ?? 'lower') === 'lower' ? '<=' : '>='} ${r.target}`,
    verdict(r),
    r.note ?? '',
  ]);
  const header = ['benchmark', 'value', 'unit', 'target', 'result', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) =>
    c
      .map((v, i) => (i === 1 ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

let failed = false;
mkdirSync(join(here, 'results'), { recursive: true });
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`bench: unknown benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const mod = await import(pathToFileURL(join(here, `${name}.mjs`)).href);
  console.log(`\n# ${name}`);
  const started = Date.now();
  const rows = await mod.default({ log: (m) => console.error(`  ${m}`) });
  printTable(rows);
  const doc = {
    benchmark: name,
    date: new Date().toISOString(),
    node: process.version,
    seconds: (Date.now() - started) / 1000,
    rows,
  };
  console.log(JSON.stringify(doc));
  writeFileSync(join(here, 'results', `${name}.json`), JSON.stringify(doc, null, 2) + '\n');
  if (rows.some((r) => verdict(r) === 'MISSED')) failed = true;
}
process.exitCode = failed ? 1 : 0;
