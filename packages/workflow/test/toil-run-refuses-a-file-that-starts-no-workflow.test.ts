import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
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

describe('toil run on a bad workflow file or one whose own code throws', () => {
  const ERRORS = join(REPO_ROOT, 'packages', 'workflow', 'test', 'fixtures', 'errors.ts');

  it.each([
    ['a directory', (dir: string) => dir, 'is a directory, not a workflow file.'],
    [
      'a file that is not JavaScript',
      (dir: string) => {
        writeFileSync(join(dir, 'notes.txt'), 'notes');
        return join(dir, 'notes.txt');
      },
      'is not a JavaScript or TypeScript file',
    ],
  ])('refuses %s with one line and exit 2', async (_what, make, message) => {
    const dir = scratch();
    const result = await runToil(['run', make(dir), `file:${join(dir, 'store')}`]);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toContain(message);
    expect(lines[1]).toMatch(/^ {2}hint: /);
    expect(lines).toHaveLength(2);
  });

  it.each([
    ['import', 'TypeError: the workflow failed at import', /errors\.ts:12:\d+\)$/, 'being loaded'],
    ['main', 'the workflow failed in main', /at failInMain \(.*errors\.ts:8:\d+\)$/, 'own code'],
    ['rejection', 'a promise nobody awaited', /errors\.ts:17:\d+\)$/, 'own code'],
  ])(
    'shows an error thrown by the workflow (%s) as one line, the user’s line and a hint',
    async (where, message, frame, hint) => {
      const dir = scratch();
      const result = await runToil(['run', ERRORS, `file:${join(dir, 'store')}`], {
        env: { ...process.env, TOIL_TEST_ERROR: where } as Record<string, string>,
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines[0]).toBe(`toil: error: ${message}`);
      expect(lines[1]).toMatch(frame);
      expect(lines[2]).toContain(hint);
      expect(lines).toHaveLength(3);
      // The whole stack with --logLevel debug.
      const debug = await runToil(
        ['run', ERRORS, `file:${join(dir, 'store')}`, '--logLevel', 'debug'],
        { env: { ...process.env, TOIL_TEST_ERROR: where } as Record<string, string> },
      );
      expect(debug.stderr.split('\n').filter((l) => /^\s+at /.test(l)).length).toBeGreaterThan(1);
    },
  );
});
