import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { splitAtRemainder } from '../src/main.js';

// Every case here fails on its input before any provisioner or network call.
describe('ssh-cluster and rsync-cluster refuse bad input with one line and exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-ts-ssh-input-'));
  const key = join(dir, 'id_ed25519');
  beforeAll(() => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const refused = async (args: string[], message: string) => {
    const result = await runToil(args);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
    expect(result.stderr.split('\n')[0]).toBe(`toil: error: ${message}`);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
    return result;
  };

  it('a missing cluster name', async () => {
    await refused(['ssh-cluster'], 'toil ssh-cluster needs the clusterName argument.');
    await refused(
      ['ssh-cluster', '--insecure'],
      'toil ssh-cluster needs the clusterName argument.',
    );
    await refused(['rsync-cluster'], 'toil rsync-cluster needs the clusterName argument.');
  });

  it('a cluster name that breaks the naming rules', async () => {
    await refused(
      ['ssh-cluster', 'My_Cluster', 'ls'],
      "The cluster name must be lowercase and cannot contain the '_' character.",
    );
  });

  it('--detach and --attach used wrongly', async () => {
    await refused(
      ['ssh-cluster', 'c1', '--detach', '--attach', 'toil', 'run'],
      '--detach and --attach cannot be used together.',
    );
    await refused(
      ['ssh-cluster', '--detach', 'c1'],
      '--detach needs a command to run on the leader.',
    );
    await refused(
      ['ssh-cluster', 'c1', '--attach', 'run-1', 'extra'],
      "--attach takes at most one word, the run's name, not 'run-1 extra'.",
    );
    await refused(
      ['ssh-cluster', '--runName', 'x', 'c1', 'ls'],
      '--runName names a run started with --detach.',
    );
    await refused(
      ['ssh-cluster', '--runName', 'a;b', 'c1', '--detach', 'ls'],
      "'a;b' cannot name a detached run: use 1 to 40 letters, digits, '_' or '-', starting with a letter or digit.",
    );
    await refused(
      ['ssh-cluster', 'c1', '--attach', '../x'],
      "'../x' cannot name a detached run: use 1 to 40 letters, digits, '_' or '-', starting with a letter or digit.",
    );
  });

  it('no ":" argument, or two of them', async () => {
    await refused(
      ['rsync-cluster', 'c1', '-av', 'a', 'b'],
      'No remote path in the arguments: mark the leader side with a leading ":".',
    );
    await refused(
      ['rsync-cluster', 'c1', ':a', ':b'],
      'Cannot rsync between two remote paths (":a" and ":b"): exactly one side may start with ":".',
    );
    await refused(
      ['rsync-cluster', 'c1'],
      'rsync-cluster needs something to copy after the cluster name.',
    );
  });

  it("an option of toil's after CLUSTER in rsync-cluster", async () => {
    const result = await refused(
      ['rsync-cluster', 'c1', '-av', '--insecure', 'f', ':'],
      "--insecure comes after the cluster name, where only rsync's arguments go.",
    );
    expect(result.stderr).toContain('toil rsync-cluster --insecure c1 ...');
  });

  it('an option after CLUSTER in ssh-cluster is part of the remote command, with a warning', async () => {
    const missing = join(dir, 'missing');
    const result = await runToil(['ssh-cluster', '--sshKey', missing, 'c1', '--insecure', 'ls']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "Argument '--insecure' comes after the cluster name, so it is part of the remote command, not an option of toil ssh-cluster: put options before c1.",
    );
    expect(result.stderr).toContain(`toil: error: The SSH key file ${missing} does not exist.`);
  });

  it('a key file that does not exist', async () => {
    const missing = join(dir, 'missing');
    const result = await runToil(['ssh-cluster', '--sshKey', missing, 'c1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `toil: error: The SSH key file ${missing} does not exist.\n  hint: Check the path given to --sshKey, or leave it out to use ssh-agent or ~/.ssh/id_*.\n`,
    );
    await refused(
      ['rsync-cluster', '--sshKey', missing, 'c1', 'f', ':'],
      `The SSH key file ${missing} does not exist.`,
    );
  });

  it('a key file with wrong permissions', async () => {
    chmodSync(key, 0o644);
    try {
      const result = await refused(
        ['ssh-cluster', '--sshKey', key, 'c1', 'ls'],
        `The SSH key file ${key} is accessible by other users (mode 0644); a private key must be private.`,
      );
      expect(result.stderr).toContain(`hint: Run: chmod 600 '${key}'`);
    } finally {
      chmodSync(key, 0o600);
    }
  });

  it('an --sshOption this tool cannot honour', async () => {
    await refused(
      ['ssh-cluster', '--sshOption=-oProxyCommand=nc', 'c1'],
      'Cannot use --sshOption "-o ProxyCommand=nc": ProxyCommand is not supported.',
    );
  });
});

describe('the command line split for ssh-cluster', () => {
  const options = {
    provisioner: { alias: 'p' },
    zone: { alias: 'z', type: 'string' },
    insecure: { type: 'boolean' },
    sshOption: { type: 'string' },
  };

  it('keeps every word after CLUSTER verbatim, options included', () => {
    expect(
      splitAtRemainder(
        [
          'ssh-cluster',
          '-p',
          'aws',
          '--insecure',
          '-z',
          'us-west-2a',
          'c1',
          'ls',
          '-la',
          '--zone',
          'x',
        ],
        'ssh-cluster',
        options,
      ),
    ).toEqual({
      head: ['ssh-cluster', '-p', 'aws', '--insecure', '-z', 'us-west-2a', 'c1'],
      rest: ['ls', '-la', '--zone', 'x'],
      found: true,
    });
  });

  it('skips option values given with = and reports a missing cluster', () => {
    expect(
      splitAtRemainder(['ssh-cluster', '--sshOption=-L1:h:2', 'c1'], 'ssh-cluster', options).rest,
    ).toEqual([]);
    expect(splitAtRemainder(['ssh-cluster', '--insecure'], 'ssh-cluster', options).found).toBe(
      false,
    );
  });
});
