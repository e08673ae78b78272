import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { WorkflowConfig } from '@toil/jobstore';
import { newWorkerDir, removeWorkerDir } from '../src/worker-common.js';

describe("a workflow's directory in the work directory of a node without a leader", () => {
  let workDir: string;
  beforeEach(() => {
    workDir = mkdtempSync(join(tmpdir(), 'toil-wf-test-'));
  });
  afterEach(() => rmSync(workDir, { recursive: true, force: true }));

  const config = (): WorkflowConfig => ({ workDir, workflowId: 'wf-1' }) as WorkflowConfig;

  it('stays while another worker still has its directory, and goes with the last one', () => {
    const first = newWorkerDir(config());
    const second = newWorkerDir(config());
    const base = dirname(first);
    expect(dirname(second)).toBe(base);
    expect(base).toBe(join(workDir, 'toil-wf-1'));
    writeFileSync(join(first, 'scratch'), 'x');
    removeWorkerDir(first);
    expect(existsSync(first)).toBe(false);
    expect(readdirSync(base)).toEqual([second.slice(base.length + 1)]);
    removeWorkerDir(second);
    expect(existsSync(base)).toBe(false);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('is made again for a worker that starts after the last one removed it', () => {
    removeWorkerDir(newWorkerDir(config()));
    expect(existsSync(join(workDir, 'toil-wf-1'))).toBe(false);
    const next = newWorkerDir(config());
    expect(existsSync(next)).toBe(true);
    expect(dirname(next)).toBe(join(workDir, 'toil-wf-1'));
  });

  it("stays when a kept directory (a failed job's) is still in it", () => {
    const kept = newWorkerDir(config());
    const cleaned = newWorkerDir(config());
    removeWorkerDir(cleaned);
    expect(readdirSync(join(workDir, 'toil-wf-1'))).toEqual([kept.slice(dirname(kept).length + 1)]);
  });
});
