import { join } from 'node:path';
import { Job, type ToilOptions } from '@toil/workflow';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import { scratch } from './helpers.js';
import { thrownToilError } from '../../../tooling/test-env/errors.js';

const SORT = join(REPO_ROOT, 'packages', 'workflow', 'test', 'fixtures', 'sort.ts');

function parser() {
  return Job.Runner.getDefaultArgumentParser('Sorts lines.')
    .option('numLines', { type: 'number', default: 1000, describe: 'Lines to make.' })
    .option('fileToSort', { type: 'string', demandOption: true, describe: 'The input.' })
    .option('mode', { type: 'string', choices: ['fast', 'slow'] as const })
    .option('keep', { type: 'boolean', describe: 'Keep the input.' })
    .options({ offset: { type: 'number' } });
}

describe("a workflow's own command-line options (Python's getDefaultArgumentParser)", () => {
  it("are parsed with Toil's, typed, with defaults, and returned beside them", () => {
    const options = parser().parseArgs([
      'file:store',
      '--fileToSort',
      'in.txt',
      '--retryCount',
      '3',
      '--offset',
      '-5',
      '--keep',
    ]);
    const lines: number = options.numLines;
    const mode: 'fast' | 'slow' | undefined = options.mode;
    const toil: ToilOptions = options;
    expect(lines).toBe(1000);
    expect(mode).toBeUndefined();
    expect(options.fileToSort).toBe('in.txt');
    expect(options.offset).toBe(-5);
    expect(options.keep).toBe(true);
    expect(toil.retryCount).toBe(3);
    expect(toil.jobStore).toBe('file:store');
    expect(toil.given).toEqual(['retryCount']);
  });

  it('refuse bad values as usage errors showing what was typed', () => {
    const bad = thrownToilError(() =>
      parser().parseArgs(['file:s', '--fileToSort', 'x', '--numLines', 'abc']),
    );
    expect(bad.code).toBe('USAGE');
    expect(bad.message).toBe("Invalid --numLines 'abc'.");
    expect(thrownToilError(() => parser().parseArgs(['file:s'])).message).toContain('fileToSort');
    expect(
      thrownToilError(() => parser().parseArgs(['file:s', '--fileToSort', 'x', '--mode', 'medium']))
        .message,
    ).toContain('Invalid values');
    expect(
      thrownToilError(() => parser().parseArgs(['file:s', '--fileToSort', 'x', '--numLinez', '3']))
        .message,
    ).toBe('Unknown argument: numLinez');
    expect(thrownToilError(() => parser().parseArgs(['file:s', '--fileToSort'])).message).toContain(
      'fileToSort',
    );
  });

  it("list the workflow's options first in --help", () => {
    const help = thrownToilError(() => parser().parseArgs(['--help'])).data?.help as string;
    expect(help).toContain('Sorts lines.');
    expect(help.indexOf('Options of this workflow:')).toBeLessThan(help.indexOf("Toil's options:"));
    expect(help).toContain('--numLines N\n      Lines to make. (default 1000)');
    expect(help).toContain('--fileToSort VALUE\n      The input. (required)');
    expect(help).toContain('--mode VALUE {fast,slow}');
  });

  it("may not take a name Toil's options use, nor a default of the wrong type", () => {
    const clash = thrownToilError(() =>
      Job.Runner.getDefaultArgumentParser()
        .option('retryCount', { type: 'number' })
        .parseArgs(['file:s']),
    );
    expect(clash.code).toBe('WORKFLOW_INVALID');
    expect(clash.message).toContain("--retryCount, which Toil's own options already use");
    const wrongDefault = thrownToilError(() =>
      Job.Runner.getDefaultArgumentParser()
        .option('n', { type: 'number', default: '3' as unknown as number })
        .parseArgs(['file:s']),
    );
    expect(wrongDefault.message).toContain('its default is "3"');
  });

  it('reach the workflow through toil run, and a bad one is a one-line error with exit 2', async () => {
    const dir = scratch();
    const store = `file:${join(dir, 'store')}`;
    const bad = await runToil([
      'run',
      SORT,
      store,
      '--fileToSort',
      'x',
      '--outputFile',
      'y',
      '--N',
      'ten',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n').filter((l) => l.startsWith('toil: error:'))).toEqual([
      "toil: error: Invalid --N 'ten'.",
    ]);
    const missing = await runToil(['run', SORT, store]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Missing required arguments: fileToSort, outputFile');
  });
});

describe('toil run WORKFLOW --help', () => {
  it("shows the workflow's own options and Toil's, named as toil run", async () => {
    const result = await runToil(['run', SORT, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: toil run ${SORT} JOBSTORE [options]`);
    expect(result.stdout).toContain('--fileToSort VALUE');
    expect(result.stdout).toContain('--retryCount VALUE');
    const plain = await runToil(['run', '--help']);
    expect(plain.stdout).toContain('toil run <workflow> <jobStore>');
  });
});
