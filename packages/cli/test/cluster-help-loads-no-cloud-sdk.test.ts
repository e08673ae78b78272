import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_BIN, runCommand } from '../../../tooling/test-env/cli.js';

// The cloud SDKs and the SSH library are CommonJS, so every file of theirs that a command
// loads is in require.cache when it exits; a preload writes those paths to a file.
const SDK =
  /node_modules\/(@aws-sdk|@smithy|@google-cloud|google-gax|google-auth-library|ssh2|node-ssh)\//;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toil-help-sdk-'));
  writeFileSync(
    join(dir, 'record.cjs'),
    `process.on('exit', () => require('node:fs').writeFileSync(process.env.TOIL_TEST_LOADED, Object.keys(require.cache).join('\\n')));\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI; resolves with its result and the cloud-SDK files it loaded. */
async function loaded(args: string[]) {
  const out = join(dir, 'loaded.txt');
  const result = await runCommand(
    [process.execPath, '--require', join(dir, 'record.cjs'), CLI_BIN, ...args],
    {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        NO_COLOR: '1',
        TOIL_TEST_LOADED: out,
        METADATA_SERVER_DETECTION: 'none',
        CLOUDSDK_CONFIG: join(dir, 'no-gcloud'),
      },
    },
  );
  const sdk = readFileSync(out, 'utf8')
    .split('\n')
    .filter((path) => SDK.test(path));
  return { result, sdk };
}

describe('the cluster commands help', () => {
  it.each(['launch-cluster', 'destroy-cluster', 'list-clusters', 'ssh-cluster', 'rsync-cluster'])(
    'toil %s --help loads no cloud SDK and no SSH library',
    async (command) => {
      const { result, sdk } = await loaded([command, '--help']);
      expect([result.code, result.stdout]).toEqual([0, expect.stringContaining('--provisioner')]);
      expect(sdk).toEqual([]);
    },
  );

  it('sees the SDK when a command does load it (list-clusters --provisioner gce)', async () => {
    const { result, sdk } = await loaded(['list-clusters', '--provisioner', 'gce', '--zone', 'x']);
    expect(result.code).toBe(1);
    expect(sdk.some((path) => path.includes('@google-cloud/compute'))).toBe(true);
  });
});
