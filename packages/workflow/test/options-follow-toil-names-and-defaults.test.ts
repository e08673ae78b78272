import { ToilError } from '@toil/core';
import { Job, Toil, parseToilOptions, type FileStore } from '@toil/workflow';
import { RecordingHost } from '@toil/core';

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
