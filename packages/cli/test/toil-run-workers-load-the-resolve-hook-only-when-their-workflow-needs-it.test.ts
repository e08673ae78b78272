import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';

/** What the job saw of its worker process. */
interface WorkerView {
  entry: string;
  nodeOptions: string;
  hookLoaded: boolean;
}

/**
 * A workflow file alone in a temporary directory (no node_modules above it) importing
 * `@toil/workflow` as `spec`; its one job records what its worker process looks like. The
 * resolve hook is the only `uncaughtException` listener a worker can have: it marks the hook.
 */
function workflowImporting(dir: string, spec: string): string {
  const file = join(dir, 'wf.mjs');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
import { Job, Toil } from ${JSON.stringify(spec)};

export class Report extends Job {
  run() {
    appendFileSync(process.env.WORKER_VIEW, JSON.stringify({
      entry: process.argv[1],
      nodeOptions: process.env.NODE_OPTIONS ?? '',
      hookLoaded: process.listenerCount('uncaughtException') > 0,
    }) + '\\n');
  }
}

Job.Runner.main(import.meta.url, async () => {
  const toil = new Toil(Job.Runner.getDefaultOptions());
  try { await toil.start(new Report()); } finally { await toil.close(); }
});
`,
  );
  return file;
}

async function workerView(spec: string): Promise<WorkerView> {
  const dir = mkdtempSync(join(tmpdir(), 'toil-resolve-hook-'));
  try {
    const view = join(dir, 'view.ndjson');
    const result = await runToil(
      ['run', workflowImporting(dir, spec), `file:${join(dir, 'store')}`, '--clean', 'always'],
      { cwd: dir, env: { WORKER_VIEW: view } },
    );
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    const lines = readFileSync(view, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!) as WorkerView;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("toil run's resolve hook in worker processes", () => {
  it('is not preloaded into workers, and a worker whose workflow imports resolve never loads it', async () => {
    const engine = pathToFileURL(join(REPO_ROOT, 'packages/workflow/dist/index.js')).href;
    const view = await workerView(engine);
    expect(view.entry).toMatch(/worker\.js$/);
    expect(view.nodeOptions).not.toContain('resolve-toil');
    expect(view.hookLoaded).toBe(false);
  }, 60_000);

  it("is loaded by a worker whose workflow imports @toil/workflow from nowhere but the CLI's copies", async () => {
    const view = await workerView('@toil/workflow');
    expect(view.entry).toMatch(/worker\.js$/);
    expect(view.nodeOptions).not.toContain('resolve-toil');
    expect(view.hookLoaded).toBe(true);
  }, 60_000);
});
