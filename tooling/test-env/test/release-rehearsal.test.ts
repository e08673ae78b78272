// The release rehearsal (#11): every package packed as it would be published, installed with
// npm outside the workspace from a registry on 127.0.0.1 that serves only those tarballs and
// the workspace's own third-party packages (tooling/test-env/npm-registry.ts), then used as a
// user would. One shared setup: pack, start the registry, install the CLI globally.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_BIN, REPO_ROOT, runCommand } from '../cli.js';
import { exec, outsideEnv, startReleaseRegistry, type ReleaseRegistry } from '../release.js';
import { acquireSlurm, describeWithSlurm, releaseSlurm, SLURM_OUTPUT_DIR } from '../slurm.js';

const version = (name: string): string =>
  (JSON.parse(readFileSync(join(REPO_ROOT, name, 'package.json'), 'utf8')) as { version: string })
    .version;

describe('the release rehearsal: packed tarballs installed with npm outside the workspace', () => {
  let scratch: string;
  let release: ReleaseRegistry;
  let toil: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing: run "pnpm build" first.`);
    scratch = mkdtempSync(join(tmpdir(), 'toil-rehearsal-'));
    release = await startReleaseRegistry(REPO_ROOT, scratch);
    await release.install(join(scratch, 'global'), ['@toil/cli'], { global: true });
    toil = join(scratch, 'global', 'bin', 'toil');
    env = outsideEnv({ TOIL_TS_CACHE_DIR: join(scratch, 'toil-cache') });
  }, 900_000);

  afterAll(async () => {
    await release?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** A new directory under the scratch dir with nothing installed in or above it. */
  const emptyDir = (name: string): string => {
    const dir = join(scratch, name);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(existsSync(join(scratch, 'node_modules'))).toBe(false);
    return dir;
  };

  it('packs one tarball per package with no workspace: ranges left in any manifest', () => {
    const packages = readdirSync(join(REPO_ROOT, 'packages')).filter((p) =>
      existsSync(join(REPO_ROOT, 'packages', p, 'package.json')),
    );
    const tarballs = readdirSync(release.tarballDir).filter((f) => f.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual(
      packages.map((p) => `toil-${p}-${version(`packages/${p}`)}.tgz`).sort(),
    );
    const installed = join(scratch, 'global', 'lib', 'node_modules', '@toil', 'cli');
    const manifests = [
      join(installed, 'package.json'),
      ...readdirSync(join(installed, 'node_modules', '@toil')).map((p) =>
        join(installed, 'node_modules', '@toil', p, 'package.json'),
      ),
    ];
    expect(manifests.length).toBe(packages.length);
    for (const manifest of manifests)
      expect(readFileSync(manifest, 'utf8')).not.toContain('workspace:');
  });

  it('installs the toil command with npm install -g, and toil --help lists the commands', async () => {
    const { stdout } = await exec([toil, '--help'], { env });
    for (const command of ['run', 'stats', 'status', 'clean', 'kill', 'launch-cluster'])
      expect(stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    const shown = await exec([toil, '--version'], { env });
    expect(shown.stdout).toBe(`${version('packages/cli')}\n`);
  }, 60_000);

  it('runs the seed example with the installed toil from a directory without node_modules, then toil stats, status and clean on its store', async () => {
    const dir = emptyDir('seed');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'discoverfiles.ts'),
      readFileSync(join(REPO_ROOT, 'examples', 'discoverfiles.ts')),
    );
    const ran = await exec([toil, 'run', 'discoverfiles.ts', 'file:js', '--stats'], {
      cwd: dir,
      env,
    });
    expect(ran.stderr).toContain('Finished toil run successfully.');
    expect(ran.stderr).toContain(`Running toil-ts ${version('packages/workflow')} (attempt 0)`);

    const stats = await exec([toil, 'stats', 'file:js', '--json'], { cwd: dir, env });
    const report = JSON.parse(stats.stdout) as {
      jobs: { count: number };
      jobTypes: { name: string }[];
    };
    expect(report.jobs.count).toBe(3);
    expect(report.jobTypes.map((t) => t.name).sort()).toEqual([
      'DiscoverFiles',
      'sysFiles',
      'userFiles',
    ]);
    const text = await exec([toil, 'stats', 'file:js'], { cwd: dir, env });
    expect(text.stdout).toMatch(/^Worker$/m);

    const status = await exec([toil, 'status', 'file:js'], { cwd: dir, env });
    expect(status.stdout).toContain('completed successfully');

    const cleaned = await exec([toil, 'clean', 'file:js'], { cwd: dir, env });
    expect(cleaned.stdout).toContain('Deleted the job store file:');
    expect(existsSync(join(dir, 'js'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
  }, 300_000);

  it('refuses a workflow importing an @toil package installed nowhere with one line saying what to install, storing nothing', async () => {
    const dir = emptyDir('unresolvable');
    mkdirSync(dir);
    writeFileSync(join(dir, 'wf.ts'), "import { x } from '@toil/nope';\nconsole.log(x);\n");
    const failed = await runCommand([toil, 'run', 'wf.ts', 'file:js'], { cwd: dir, env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(
      "toil: error: Cannot find module '@toil/nope': it is installed neither next to the workflow nor with the toil CLI. Fix: npm install @toil/nope next to the workflow.\n",
    );
    expect(existsSync(join(dir, 'js'))).toBe(false);
  }, 60_000);

  it("runs a workflow with its own @toil/workflow installed next to it on that copy, in the leader and in the workers, not on the CLI's", async () => {
    const dir = join(scratch, 'pinned');
    await release.install(dir, [`@toil/workflow@${version('packages/workflow')}`]);
    writeFileSync(
      join(dir, 'wf.mjs'),
      `import { appendFileSync } from 'node:fs';
import { Job, Toil } from '@toil/workflow';

const log = new URL('./resolved.txt', import.meta.url);
const where = (who) => appendFileSync(log, who + ' ' + import.meta.resolve('@toil/workflow') + '\\n');

export class Report extends Job {
  run() { where('worker'); }
}

Job.Runner.main(import.meta.url, async () => {
  where('leader');
  const toil = new Toil(Job.Runner.getDefaultOptions());
  try { await toil.start(new Report()); } finally { await toil.close(); }
});
`,
    );
    await exec([toil, 'run', 'wf.mjs', 'file:js', '--clean', 'always'], { cwd: dir, env });
    const local = new URL(`file://${join(dir, 'node_modules', '@toil', 'workflow')}/`).href;
    const lines = readFileSync(join(dir, 'resolved.txt'), 'utf8').trim().split('\n').sort();
    expect(lines).toEqual([`leader ${local}dist/index.js`, `worker ${local}dist/index.js`]);
  }, 300_000);

  describeWithSlurm(
    "README's Slurm row: a program with @toil/workflow and @toil/batch-slurm installed",
    () => {
      beforeAll(() => acquireSlurm(), 120_000);
      afterAll(() => releaseSlurm(), 120_000);

      it('runs its jobs on Slurm with --batchSystem slurm, the plugin found next to the program', async () => {
        const dir = emptyDir('slurm-program');
        await release.install(dir, [
          `@toil/workflow@${version('packages/workflow')}`,
          `@toil/batch-slurm@${version('packages/batch-slurm')}`,
        ]);
        writeFileSync(
          join(dir, 'wf.mjs'),
          `import { appendFileSync } from 'node:fs';
import { Job, Toil } from '@toil/workflow';

const notes = new URL('./notes.txt', import.meta.url);
export function leaf(i) { appendFileSync(notes, 'leaf ' + i + ' ' + (process.env.SLURM_JOB_ID ? 'slurm' : 'local') + '\\n'); }
export function fanout(job, n) { for (let i = 0; i < n; i++) job.addChildFn(leaf, i); }

Job.Runner.main(import.meta.url, async () => {
  const toil = new Toil(Job.Runner.getDefaultOptions());
  try { await toil.start(Job.wrapJobFn(fanout, 3)); } finally { await toil.close(); }
});
`,
        );
        const work = mkdtempSync(join(SLURM_OUTPUT_DIR, 'rehearsal-'));
        const ran = await exec(
          [
            process.execPath,
            'wf.mjs',
            'file:js',
            '--batchSystem',
            'slurm',
            '--defaultMemory',
            '256M',
            '--workDir',
            work,
          ],
          { cwd: dir, env: { ...env, SLURM_CONF: process.env.SLURM_CONF } },
        );
        expect(ran.stderr).toContain('with the slurm batch system');
        expect(ran.stderr).toContain('Finished toil run successfully.');
        const notes = readFileSync(join(dir, 'notes.txt'), 'utf8').trim().split('\n').sort();
        expect(notes).toEqual(['leaf 0 slurm', 'leaf 1 slurm', 'leaf 2 slurm']);
        rmSync(work, { recursive: true, force: true });
      }, 300_000);
    },
  );

  it('type-checks (nodenext, strict, skipLibCheck false) and runs an ESM and a CommonJS consumer of @toil/jobstore + @toil/stats, with no AWS SDK installed and no zod loaded for well-formed records (they pass the hand checks)', async () => {
    const dir = emptyDir('consumer');
    await release.install(dir, [
      `@toil/jobstore@${version('packages/jobstore')}`,
      `@toil/stats@${version('packages/stats')}`,
      `typescript@${version('node_modules/typescript')}`,
      `@types/node@${version('node_modules/@types/node')}`,
    ]);
    for (const sdk of ['@aws-sdk', '@smithy', '@toil/jobstore-aws'])
      expect(existsSync(join(dir, 'node_modules', sdk))).toBe(false);

    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const body = (flavour: string, extra = '') => `
  const locator = process.argv[2]!;
  const report: StatsReport = await gatherStats(locator);
  const status = await getStatus(locator);
  let aws = 'opened';
  try {
    await openJobStore('aws:us-west-2:rehearsal');
  } catch (error) {
    aws = (error as { code?: string }).code ?? String(error);
  }
  const names = report.jobTypes.map((t) => t.name).sort();
  console.log(JSON.stringify({ flavour: '${flavour}', jobs: report.jobs.count, names, state: status.state, aws${extra} }));`;
    const imports = `import { openJobStore } from '@toil/jobstore';
import { gatherStats, getStatus, type StatsReport } from '@toil/stats';
`;
    writeFileSync(join(dir, 'esm.mts'), `${imports}${body('esm')}\n`);
    writeFileSync(
      join(dir, 'cjs.cts'),
      `${imports}
// zod is not loaded by the import, nor by reading records that pass the hand checks.
const zodLoaded = (): boolean => Object.keys(require.cache).some((p) => p.includes('/node_modules/zod/'));
const zodAtImport = zodLoaded();
async function main(): Promise<void> {${body('cjs', ', zod: [zodAtImport, zodLoaded()]')}
}
void main();
// A CommonJS module: it has require and module.
if (typeof require !== 'function' || typeof module !== 'object') throw new Error('not CommonJS');
`,
    );
    await exec(
      [process.execPath, join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
      {
        cwd: dir,
        env,
      },
    );

    const store = join(scratch, 'consumer-store');
    writeFileSync(
      join(scratch, 'seed-for-consumer.ts'),
      readFileSync(join(REPO_ROOT, 'examples', 'discoverfiles.ts')),
    );
    await exec([toil, 'run', join(scratch, 'seed-for-consumer.ts'), `file:${store}`, '--stats'], {
      cwd: scratch,
      env,
    });
    for (const [flavour, file] of [
      ['esm', 'esm.mjs'],
      ['cjs', 'cjs.cjs'],
    ] as const) {
      const { stdout } = await exec([process.execPath, join(dir, file), `file:${store}`], {
        cwd: dir,
        env,
      });
      expect(JSON.parse(stdout)).toEqual({
        flavour,
        jobs: 3,
        names: ['DiscoverFiles', 'sysFiles', 'userFiles'],
        state: 'completed',
        aws: 'JOBSTORE_BACKEND_MISSING',
        ...(flavour === 'cjs' ? { zod: [false, false] } : {}),
      });
    }
  }, 300_000);

  it('passes publint and attw (node16 profile) on every packed tarball', async () => {
    const { stdout } = await exec(
      [
        process.execPath,
        join(REPO_ROOT, 'tooling', 'scripts', 'check-packages.mjs'),
        release.tarballDir,
      ],
      { cwd: REPO_ROOT },
    );
    const tarballs = readdirSync(release.tarballDir).filter((f) => f.endsWith('.tgz'));
    expect(stdout.match(/^ok {3}publint /gm)?.length).toBe(tarballs.length);
    expect(stdout.match(/^ok {3}attw /gm)?.length).toBe(tarballs.length);
  }, 300_000);
});
