import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { scratch } from './helpers.js';

describe('toil run on a file that never starts a workflow', () => {
  it('is a one-line WORKFLOW_INVALID error with a hint, non-zero, and stores nothing', async () => {
    const dir = scratch();
    const file = join(dir, 'not-a-workflow.mjs');
    writeFileSync(file, "process.stdout.write('module loaded\\n');\n");
    const store = join(dir, 'store');
    const result = await runToil(['run', file, `file:${store}`]);
    expect(result.stdout).toContain('module loaded');
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('toil: error:'));
    expect(errors).toEqual([`toil: error: ${file} did not start a workflow.`]);
    expect(result.stderr).toContain('hint: End the file with Job.Runner.main(import.meta.url');
    expect(result.code).not.toBe(0);
    expect(existsSync(store)).toBe(false);
  });
});
