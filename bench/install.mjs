// What users install: every package packed (`pnpm pack`) and installed with npm into empty
// directories outside the workspace, from the registry on 127.0.0.1 that the release rehearsal
// uses (tooling/test-env/npm-registry.ts: our tarballs + the workspace's third-party packages,
// offline). Prints the installed size (du of node_modules) of each install and the time of a
// cold `import()` / `require()` of each package, each in a fresh node process (median of 10;
// the time of the import itself, not node's start-up).
import { mkdtempSync, rmSync } from 'node:fs';
import os, { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { median, ROOT } from './lib.mjs';

const { exec, outsideEnv, startReleaseRegistry } = await tsImport(
  '../tooling/test-env/release.ts',
  import.meta.url,
);

const RUNS = 10;
const INSTALLS = [
  { key: 'core', label: '@toil/core alone', specs: ['@toil/core'], packages: ['@toil/core'] },
  {
    key: 'jobstore+stats',
    label: '@toil/jobstore + @toil/stats',
    specs: ['@toil/jobstore', '@toil/stats'],
    packages: ['@toil/jobstore', '@toil/stats'],
    sizeTarget: 12,
    importTargets: { '@toil/jobstore': 40 },
  },
  {
    key: 'cli',
    label: 'the CLI (npm install -g @toil/cli)',
    specs: ['@toil/cli'],
    global: true,
    packages: ['@toil/cli'],
  },
];

/** Disk usage of a directory in MiB, as `du -s` counts it. */
async function du(dir) {
  const { stdout } = await exec(['du', '-sk', dir]);
  return Number(stdout.split('\t')[0]) / 1024;
}

/**
 * Milliseconds of one cold import() or require() of `name` in a new node process in `cwd`: wall
 * time, and the CPU time (user + system) the process spent on it, which a loaded machine
 * inflates less.
 */
async function loadTime(name, how, cwd) {
  const load =
    how === 'import' ? `await import(${JSON.stringify(name)})` : `require(${JSON.stringify(name)})`;
  const script = `const c = process.cpuUsage(); const t = performance.now(); ${load}; const u = process.cpuUsage(c); process.stdout.write(JSON.stringify([performance.now() - t, (u.user + u.system) / 1000]));`;
  const argv =
    how === 'import'
      ? [process.execPath, '--input-type=module', '-e', script]
      : [process.execPath, '-e', script];
  const { stdout } = await exec(argv, { cwd, env: outsideEnv() });
  const [ms, cpuMs] = JSON.parse(stdout);
  return { ms, cpuMs };
}

export default async function run({ log }) {
  const scratch = mkdtempSync(join(tmpdir(), 'toil-bench-install-'));
  const rows = [];
  let release;
  // What any first import() costs in a fresh process (the ESM loader), for reading the rest.
  const floor = [];
  for (let i = 0; i < RUNS; i++) floor.push(await loadTime('node:path', 'import', ROOT));
  rows.push({
    name: `import('node:path') in a fresh process: the floor (median of ${RUNS})`,
    value: median(floor.map((t) => t.ms)),
    unit: 'ms',
    note: `cpu ${median(floor.map((t) => t.cpuMs)).toFixed(1)} ms; load average ${loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores`,
  });
  try {
    log('packing every package and starting the local registry');
    release = await startReleaseRegistry(ROOT, scratch);
    for (const install of INSTALLS) {
      const dir = join(scratch, install.key);
      log(`npm install ${install.global ? '-g ' : ''}${install.specs.join(' ')}`);
      await release.install(dir, install.specs, { global: install.global });
      const modules = install.global ? join(dir, 'lib', 'node_modules') : join(dir, 'node_modules');
      rows.push({
        name: `installed size: ${install.label}`,
        value: await du(modules),
        unit: 'MiB',
        target: install.sizeTarget,
      });
      // A global install's packages are found from its lib directory.
      const cwd = install.global ? join(dir, 'lib') : dir;
      for (const name of install.packages) {
        for (const how of ['import', 'require']) {
          await loadTime(name, how, cwd); // the files into the page cache: "cold" is the process
          const times = [];
          for (let i = 0; i < RUNS; i++) times.push(await loadTime(name, how, cwd));
          log(`${how}('${name}'): ${times.map((t) => t.ms.toFixed(1)).join(' ')} ms`);
          rows.push({
            name: `${how}('${name}') in a fresh process (median of ${RUNS})`,
            value: median(times.map((t) => t.ms)),
            unit: 'ms',
            note: `cpu ${median(times.map((t) => t.cpuMs)).toFixed(1)} ms`,
            target: how === 'import' ? install.importTargets?.[name] : undefined,
          });
        }
      }
    }
  } finally {
    await release?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}
