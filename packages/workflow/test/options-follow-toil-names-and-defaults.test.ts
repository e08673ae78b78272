import { ToilError } from '@toil/core';
import { Job, Toil, parseToilOptions, type FileStore } from '@toil/workflow';
import { RecordingHost } from '@toil/core';
import {
  TOIL_OPTION_SPECS,
  parsePlainCommandLine,
  parseWithYargs,
  type PlainSpecs,
} from '../src/options.js';

describe('workflow options', () => {
  it("parse Toil's names with Toil's defaults", () => {
    const o = parseToilOptions(['file:store']);
    expect(o).toMatchObject({
      jobStore: 'file:store',
      stats: false,
      clean: 'onSuccess',
      cleanWorkDir: 'always',
      restart: false,
      retryCount: 1,
      disableChaining: false,
      maxCores: null,
      maxMemory: null,
      maxDisk: null,
      defaultCores: 1,
      defaultMemory: 2 * 1024 ** 3,
      defaultDisk: 2 * 1024 ** 3,
      batchSystem: 'single_machine',
      batchSystemOptions: {},
      logLevel: 'info',
      given: [],
    });
  });

  it('read sizes, counts, batch-system options and logging flags', () => {
    const o = parseToilOptions([
      'file:store',
      '--stats',
      '--maxMemory',
      '4Gi',
      '--defaultMemory=100M',
      '--maxCores',
      '3',
      '--retryCount',
      '0',
      '--clean',
      'always',
      '--batchSystem',
      'slurm',
      '--slurmTime',
      '1h',
      '--slurmPartition',
      'debug',
      '--slurmNoMem',
      '--disableChaining',
      '--logDebug',
    ]);
    expect(o).toMatchObject({
      stats: true,
      maxMemory: 4 * 1024 ** 3,
      defaultMemory: 100e6,
      maxCores: 3,
      retryCount: 0,
      disableChaining: true,
      clean: 'always',
      batchSystem: 'slurm',
      batchSystemOptions: { slurmTime: 3600, slurmPartition: 'debug', slurmNoMem: true },
      logLevel: 'debug',
    });
    expect(o.given).toEqual(expect.arrayContaining(['stats', 'maxMemory', 'clean', 'retryCount']));
  });

  it("take Toil's autoscaling options, which imply the cluster's Slurm", () => {
    const o = parseToilOptions([
      'file:s',
      '--provisioner',
      'aws',
      '--nodeTypes',
      't2.medium,t3.large:0.1',
      '--maxNodes',
      '3,2',
      '--targetTime',
      '1800',
    ]);
    expect(o.batchSystem).toBe('slurm');
    expect(o.scaling).toEqual({
      provisioner: 'aws',
      nodeTypes: 't2.medium,t3.large:0.1',
      maxNodes: '3,2',
      targetTime: '1800',
    });
    expect(parseToilOptions(['file:s']).scaling).toBeUndefined();
  });

  it.each([
    [['file:s', '--maxNodes', '3'], 'USAGE', /^--maxNodes needs --provisioner\.$/],
    [['file:s', '--provisioner', 'azure'], 'USAGE', /Invalid values/],
    [['file:s', '--statz'], 'USAGE', /Unknown argument: statz/],
    [['file:s', '--clean', 'sometimes'], 'USAGE', /Invalid values/],
    [['file:s', '--maxMemory', 'lots'], 'INVALID_SIZE', /--maxMemory 'lots'/],
    [['file:s', '--retryCount', '-1'], 'USAGE', /--retryCount/],
    [[], 'USAGE', /Missing the job store/],
    [['file:a', 'file:b'], 'USAGE', /Unexpected argument 'file:b'/],
    // A numeric option without its value (last, or before another option) is an error.
    [['file:s', '--maxCores'], 'USAGE', /^--maxCores needs a value\.$/],
    [['file:s', '--retryCount'], 'USAGE', /^--retryCount needs a value\.$/],
    [['file:s', '--defaultCores', '--stats'], 'USAGE', /^--defaultCores needs a value\.$/],
    [['file:s', '--maxLocalJobs'], 'USAGE', /^--maxLocalJobs needs a value\.$/],
    [['file:s', '--maxMemory'], 'USAGE', /^--maxMemory needs a value\.$/],
    // Errors show what the user typed.
    [['file:s', '--maxCores', 'abc'], 'USAGE', /^Invalid --maxCores 'abc'\.$/],
    [['file:s', '--retryCount', 'x2'], 'USAGE', /^Invalid --retryCount 'x2'\.$/],
    [['file:s', '--defaultMemory', '-5G'], 'INVALID_SIZE', /^Invalid --defaultMemory '-5G'/],
    [['file:s', '--maxCores', '-2'], 'USAGE', /^Invalid --maxCores '-2'\.$/],
  ])('refuse %j with a clear error', (argv, code, message) => {
    let error: unknown;
    try {
      parseToilOptions(argv);
    } catch (e) {
      error = e;
    }
    expect(ToilError.is(error)).toBe(true);
    expect((error as ToilError).code).toBe(code);
    expect((error as ToilError).message).toMatch(message);
    expect((error as ToilError).hint).toBeTruthy();
  });

  it('give an unknown --logLevel a hint', () => {
    expect(() => parseToilOptions(['file:s', '--logLevel', 'LOUD'])).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('Choose one of') }),
    );
  });

  it('--stats forces --clean never with a warning', () => {
    const host = new RecordingHost();
    const toil = new Toil(parseToilOptions(['file:s', '--stats', '--clean', 'always']), { host });
    expect(toil.options.clean).toBe('never');
    expect(host.messages('warning')[0]).toContain("Setting clean to 'never'");
  });
});

describe('a plain command line, parsed without yargs', () => {
  const specs: PlainSpecs = {
    ...TOIL_OPTION_SPECS,
    count: { type: 'string' },
    mode: { type: 'string', choices: ['fast', 'slow'] },
    input: { type: 'string', demandOption: true },
    dryRun: { type: 'boolean' },
  };
  const plain = ['file:store', '--input', 'in.txt'];
  const lines: string[][] = [
    plain,
    [...plain, '--stats', '--clean', 'always', '--retryCount', '3', '--maxCores=2'],
    [...plain, '--logLevel', 'debug', '--logFile', '/tmp/log', '--workDir', 'w', '--dryRun'],
    [...plain, '--batchSystem=single_machine', '--defaultMemory', '1.5G', '--mode', 'fast'],
    [...plain, '--restart', '--disableChaining', '--count', '7', '--logWarning'],
    ['--stats', 'file:store', '--input=x=y'],
    // Left to yargs: each of these differs from plain somewhere.
    [...plain, '--stats', 'false'],
    [...plain, '--stats=true'],
    [...plain, '--clean', 'sometimes'],
    [...plain, '--mode', 'medium'],
    [...plain, '--retryCount'],
    [...plain, '--retryCount', '--stats'],
    [...plain, '--retryCount', ''],
    [...plain, '--stats', '--stats'],
    [...plain, '--max-cores', '2'],
    [...plain, '--no-stats'],
    [...plain, '-s'],
    [...plain, '--bogus'],
    [...plain, '--', 'x'],
    ['file:store'],
    ['123', '--input', 'x'],
    // Plain, and refused after parsing, as with yargs.
    ['file:store', 'extra', '--input', 'x'],
    ['-5', '--input', 'x'],
  ];

  it('is what yargs gives, or left to yargs', () => {
    let plainOnes = 0;
    for (const argv of lines) {
      const fast = parsePlainCommandLine(argv, specs);
      let slow: Record<string, unknown> | string;
      try {
        const { $0: _name, ...rest } = parseWithYargs(argv, specs);
        slow = rest;
      } catch (error) {
        slow = (error as Error).message;
      }
      if (fast === undefined) continue;
      plainOnes += 1;
      expect({ argv, parsed: fast }).toEqual({ argv, parsed: slow });
    }
    expect(plainOnes).toBe(7);
  });

  it('gives the same options as yargs for a plain workflow command line', () => {
    const argv = ['file:store', '--stats', '--maxMemory', '3G', '--logDebug', '--workDir', 'w'];
    const options = parseToilOptions(argv);
    expect(options).toMatchObject({
      jobStore: 'file:store',
      stats: true,
      maxMemory: 3e9,
      logLevel: 'debug',
      given: expect.arrayContaining(['stats', 'maxMemory', 'logDebug', 'workDir']),
    });
    expect(options.given).toHaveLength(4);
  });
});

describe('the Job API', () => {
  class Hello extends Job {
    constructor(public who: string) {
      super({ memory: '1Gi', cores: 2, disk: '10M' });
    }
    override run(_fileStore: FileStore) {
      return `hello ${this.who}`;
    }
  }

  it('names jobs by displayName, else class or function name', () => {
    function myFunction() {}
    expect(new Hello('x').displayName).toBe('Hello');
    expect(new Job({ displayName: 'named' }).displayName).toBe('named');
    expect(Job.wrapFn(myFunction).displayName).toBe('myFunction');
    expect(Job.wrapFnWith({ displayName: 'alias' }, myFunction).displayName).toBe('alias');
  });

  it('returns the added job from addChild/addFollowOn, allows several predecessors and refuses a repeated edge or a cycle', () => {
    const a = new Hello('a');
    const b = new Hello('b');
    expect(a.addChild(b)).toBe(b);
    expect(() => a.addFollowOn(b)).toThrow(/already has a predecessor/);
    expect(() => b.addChild(a)).toThrow(/cycle/);
    expect(() => a.addChild(a)).toThrow(/cycle/);
    // A diamond's join: d after both b and c.
    const c = a.addChild(new Hello('c2'));
    const d = b.addChild(new Hello('d'));
    expect(c.addChild(d)).toBe(d);
    expect(() => d.addChild(a)).toThrow(/cycle/);
    expect(() => d.addFollowOn(c)).toThrow(/cycle/);
  });

  it('refuses bad resource values, naming the job', () => {
    expect(() => new Job({ memory: 'much' })).toThrow(/memory of job Job/);
    expect(() => new Job({ cores: -1 })).toThrow(/Invalid cores/);
  });
});
