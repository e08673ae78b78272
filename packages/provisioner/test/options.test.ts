import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isCidr,
  launchSpecFromOptions,
  resolveSshKey,
  resolveToilPackage,
  type LaunchClusterArgs,
} from '@toil/provisioner';
import { thrownToilError } from '../../../tooling/test-env/errors.js';

let home: string;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'toil-provisioner-options-'));
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'id_ed25519'), 'private');
  writeFileSync(join(home, '.ssh', 'id_ed25519.pub'), 'ssh-ed25519 AAAAC3Nz me@host\n');
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const base: LaunchClusterArgs = {
  clusterName: 'c1',
  provisioner: 'aws',
  zone: 'us-west-2a',
  leaderNodeType: 't3.medium',
  keyPairName: 'me',
};

describe('launchSpecFromOptions', () => {
  it('makes -w MIN-MAX ranges elastic groups with the idle time, next to fixed groups', () => {
    const spec = launchSpecFromOptions(
      {
        ...base,
        nodeTypes: 't2.medium,t2.small:0.2,m5.large',
        workers: '0-3,2-0,1',
        nodeIdleTime: '90s',
      },
      { version: '1.2.3', env: {}, home },
    );
    expect(spec.workers).toEqual([{ instanceTypes: ['m5.large'], count: 1 }]);
    expect(spec.elastic).toEqual([
      { instanceTypes: ['t2.medium'], min: 0, max: 3 },
      { instanceTypes: ['t2.small'], spotBid: 0.2, min: 0, max: 2 },
    ]);
    expect(spec.nodeIdleSeconds).toBe(90);
    const defaults = launchSpecFromOptions(base, { version: '1.2.3', env: {}, home });
    expect(defaults.elastic).toEqual([]);
    expect(defaults.nodeIdleSeconds).toBe(300);
  });

  it('takes elastic groups on gce, and refuses them with --bootstrap none and a bad --nodeIdleTime', () => {
    const gce = launchSpecFromOptions(
      {
        ...base,
        provisioner: 'gce',
        zone: 'us-west1-a',
        nodeTypes: 'n2-standard-2,n1-standard-1:0.05',
        workers: '0-2,0-1',
      },
      { version: '1.2.3', env: {}, home },
    );
    expect(gce.elastic).toEqual([
      { instanceTypes: ['n2-standard-2'], min: 0, max: 2 },
      { instanceTypes: ['n1-standard-1'], spotBid: 0.05, min: 0, max: 1 },
    ]);
    const none = thrownToilError(() =>
      launchSpecFromOptions(
        { ...base, nodeTypes: 't2.medium', workers: '0-2', bootstrap: 'none' },
        { version: '1.2.3', env: {}, home },
      ),
    );
    expect(none.code).toBe('INVALID_ARGUMENT');
    expect(none.message).toContain('--bootstrap full');
    const idle = thrownToilError(() =>
      launchSpecFromOptions(
        { ...base, nodeTypes: 't2.medium', workers: '0-2', nodeIdleTime: 'soon' },
        { version: '1.2.3', env: {}, home },
      ),
    );
    expect(idle.message).toContain('--nodeIdleTime');
  });

  it('builds a checked spec with defaults, tags, workers and the launcher key', () => {
    const spec = launchSpecFromOptions(
      { ...base, nodeTypes: 't3.small:0.1,m5.large', workers: '2,1', tag: ['team=x'] },
      { version: '1.2.3', env: {}, home },
    );
    expect(spec).toMatchObject({
      clusterName: 'c1',
      zone: 'us-west-2a',
      owner: 'me',
      tags: { Name: 'c1', Owner: 'me', team: 'x', clusterName: 'c1' },
      workers: [
        { instanceTypes: ['t3.small'], spotBid: 0.1, count: 2 },
        { instanceTypes: ['m5.large'], count: 1 },
      ],
      leaderStorageGb: 50,
      nodeStorageGb: 50,
      sshCidr: '0.0.0.0/0',
      sshUser: 'toil',
      sshPublicKey: 'ssh-ed25519 AAAAC3Nz me@host',
      sshPrivateKeyPath: join(home, '.ssh', 'id_ed25519'),
      toilPackage: { kind: 'registry', version: '1.2.3' },
      dryRun: false,
    });
  });

  it('takes the zone from TOIL_AWS_ZONE, and says how to give one when there is none', () => {
    const spec = launchSpecFromOptions(
      { ...base, zone: undefined },
      { version: '1.0.0', env: { TOIL_AWS_ZONE: 'eu-west-1b' }, home },
    );
    expect(spec.zone).toBe('eu-west-1b');
    const error = thrownToilError(() =>
      launchSpecFromOptions({ ...base, zone: undefined }, { version: '1.0.0', env: {}, home }),
    );
    expect(error.code).toBe('ZONE_MISSING');
    expect(error.message).toBe(
      'Please provide a value for --zone or set a default in the TOIL_AWS_ZONE environment variable.',
    );
  });

  it("checks in Toil's order: node types before pairing before zone before the name", () => {
    const ctx = { version: '1.0.0', env: {}, home };
    const bad = { ...base, clusterName: 'Bad_Name', zone: undefined };
    expect(
      thrownToilError(() => launchSpecFromOptions({ ...bad, nodeTypes: 'x:y', workers: '1' }, ctx))
        .code,
    ).toBe('NODE_TYPE_INVALID');
    expect(
      thrownToilError(() => launchSpecFromOptions({ ...bad, nodeTypes: 'x' }, ctx)).message,
    ).toContain('requires --workers');
    expect(thrownToilError(() => launchSpecFromOptions(bad, ctx)).code).toBe('ZONE_MISSING');
    expect(thrownToilError(() => launchSpecFromOptions({ ...bad, zone: 'z' }, ctx)).code).toBe(
      'CLUSTER_NAME_INVALID',
    );
  });

  it('refuses bad storage sizes and a bad --sshCidr', () => {
    const ctx = { version: '1.0.0', env: {}, home };
    expect(
      thrownToilError(() => launchSpecFromOptions({ ...base, leaderStorage: 0 }, ctx)).message,
    ).toBe('--leaderStorage must be a whole number of GB above 0.');
    expect(
      thrownToilError(() => launchSpecFromOptions({ ...base, nodeStorage: 2.5 }, ctx)).code,
    ).toBe('INVALID_ARGUMENT');
    expect(
      thrownToilError(() => launchSpecFromOptions({ ...base, sshCidr: '1.2.3.4' }, ctx)).message,
    ).toContain('is not a CIDR block');
  });

  it('takes --no-externalAddress for GCE and refuses it for AWS, where the subnet decides', () => {
    const ctx = { version: '1.0.0', env: {}, home };
    const gce = { ...base, provisioner: 'gce', zone: 'us-central1-a', leaderNodeType: 'e2-small' };
    expect(launchSpecFromOptions(gce, ctx).externalAddress).toBe(true);
    expect(launchSpecFromOptions({ ...gce, externalAddress: false }, ctx).externalAddress).toBe(
      false,
    );
    const aws = thrownToilError(() =>
      launchSpecFromOptions({ ...base, externalAddress: false }, ctx),
    );
    expect([aws.code, aws.message]).toEqual([
      'INVALID_ARGUMENT',
      '--no-externalAddress is for --provisioner gce only.',
    ]);
  });

  it('refuses a missing SSH key and a missing --sshKey file', () => {
    const empty = mkdtempSync(join(tmpdir(), 'toil-provisioner-nokey-'));
    try {
      expect(thrownToilError(() => resolveSshKey(undefined, empty)).message).toContain(
        'No SSH key found',
      );
      expect(thrownToilError(() => resolveSshKey(join(empty, 'nope'), empty)).message).toContain(
        'must both exist',
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('resolveToilPackage', () => {
  it('defaults to the registry at the launcher version, and takes a self-contained install of this version or a .tgz', () => {
    expect(resolveToilPackage(undefined, '2.0.0')).toEqual({ kind: 'registry', version: '2.0.0' });
    const dir = mkdtempSync(join(tmpdir(), 'toil-provisioner-bundle-'));
    try {
      const bundle = join(dir, 'bundle');
      mkdirSync(join(bundle, 'node_modules'), { recursive: true });
      writeFileSync(
        join(bundle, 'package.json'),
        JSON.stringify({ name: '@toil/cli', version: '1.0.0' }),
      );
      expect(resolveToilPackage(bundle, '1.0.0')).toEqual({
        kind: 'bundle',
        path: bundle,
        version: '1.0.0',
      });
      writeFileSync(join(dir, 'bundle.tgz'), '');
      expect(resolveToilPackage([join(dir, 'bundle.tgz')], '1.0.0')).toEqual({
        kind: 'bundle',
        path: join(dir, 'bundle.tgz'),
        version: '1.0.0',
      });
      expect(thrownToilError(() => resolveToilPackage(bundle, '1.0.1')).message).toBe(
        `--toilPackage ${bundle} holds @toil/cli 1.0.0, but this toil is 1.0.1: the nodes must run the launcher's version.`,
      );
      expect(thrownToilError(() => resolveToilPackage(join(dir, 'missing.tgz'), '1')).code).toBe(
        'INVALID_ARGUMENT',
      );
      expect(thrownToilError(() => resolveToilPackage([bundle, bundle], '1.0.0')).message).toBe(
        '--toilPackage was given more than once.',
      );
      const notCli = join(dir, 'other');
      mkdirSync(notCli);
      const error = thrownToilError(() => resolveToilPackage(notCli, '1'));
      expect(error.message).toContain('is not a self-contained @toil/cli install');
      expect(error.hint).toContain(
        'pnpm --config.inject-workspace-packages=true --filter @toil/cli deploy --prod DIR',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('isCidr', () => {
  it('accepts IPv4 and IPv6 blocks and refuses the rest', () => {
    expect(isCidr('0.0.0.0/0')).toBe(true);
    expect(isCidr('10.1.2.0/24')).toBe(true);
    expect(isCidr('::/0')).toBe(true);
    expect(isCidr('10.1.2.0/33')).toBe(false);
    expect(isCidr('300.1.2.0/24')).toBe(false);
    expect(isCidr('10.1.2.0')).toBe(false);
  });
});
