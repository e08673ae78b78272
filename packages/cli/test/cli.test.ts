import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';

describe('the toil command line', () => {
  it('lists every command of the seed page plus run in --help, and exits 0', async () => {
    const result = await runToil(['--help']);
    expect(result.code).toBe(0);
    for (const name of [
      'run',
      'status',
      'stats',
      'clean',
      'kill',
      'launch-cluster',
      'ssh-cluster',
      'rsync-cluster',
      'list-clusters',
      'destroy-cluster',
      'report',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    }
    expect(result.stderr).toBe('');
  });

  it("keeps Slurm's power-saving entry point out of --help, and off a machine that is no cluster leader it is a one-line error", async () => {
    const help = await runToil(['--help']);
    expect(help.stdout).not.toContain('cluster-power');
    const own = await runToil(['cluster-power', '--help']);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('toil cluster-power <action>');
    const bad = await runToil(['cluster-power', 'grow', '--nodes', 'w0-0']);
    expect(bad.code).toBe(2);
    const elsewhere = await runToil(['cluster-power', 'resume', '--nodes', 'w0-0']);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('not the leader of a cluster with elastic node groups');
    expect(elsewhere.stderr.trim().split('\n')).toHaveLength(2);
  });

  it('prints usage with no arguments', async () => {
    const result = await runToil([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: toil COMMAND');
  });

  it('prints its version', async () => {
    const result = await runToil(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects an unknown command with one line, a hint and exit code 2', async () => {
    const result = await runToil(['stat', 'file:x']);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('toil: error: Unknown command "stat".');
    expect(lines[1]).toContain('Did you mean "toil stats"?');
    expect(lines).toHaveLength(2);
    expect(result.stdout).toBe('');
  });

  it('rejects an unknown option of a command with exit code 2', async () => {
    const result = await runToil([
      'launch-cluster',
      'c1',
      '--leaderNodeType',
      't3.micro',
      '--keyPairName',
      'k',
      '--bogus',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown argument: bogus');
    expect(result.stderr).toContain('hint: Run "toil launch-cluster --help"');
  });

  it('rejects an unknown top-level option with exit code 2', async () => {
    const result = await runToil(['--frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown option "--frobnicate".');
  });

  it('rejects a bad choice with the list of choices', async () => {
    const result = await runToil(['destroy-cluster', 'c1', '--provisioner', 'azure']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Choices: "aws", "gce"/);
  });

  it('prints errors as JSON with --json', async () => {
    const result = await runToil(['ssh-cluster', '--json', '--sshKey', '/nonexistent/key', 'c1']);
    expect(result.code).toBe(2);
    const parsed = JSON.parse(result.stdout) as {
      error: { code: string; message: string; hint?: string };
    };
    expect(parsed.error.code).toBe('SSH_KEY_NOT_FOUND');
    expect(parsed.error.message).toContain('/nonexistent/key');
    expect(parsed.error.hint).toBeDefined();
  });

  it('shows the stack only at debug level', async () => {
    const quiet = await runToil(['ssh-cluster', '--sshKey', '/nonexistent/key', 'c1']);
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const debug = await runToil([
      'ssh-cluster',
      '--logLevel',
      'DEBUG',
      '--sshKey',
      '/nonexistent/key',
      'c1',
    ]);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('validates --logLevel case-insensitively', async () => {
    const bad = await runToil(['destroy-cluster', 'c1', '--logLevel', 'loud']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Invalid --logLevel 'loud'");
  });

  it("shows a command's help with its options", async () => {
    const result = await runToil(['destroy-cluster', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('toil destroy-cluster <clusterName>');
    expect(result.stdout).toContain('--provisioner');
    expect(result.stdout).toContain('--logLevel');
  });

  it('says "not a job store" for a regular file or another directory, with exit 2 from every command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-cli-not-a-store-'));
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'notes');
    const other = join(dir, 'papers');
    mkdirSync(other);
    writeFileSync(join(other, 'thesis.tex'), 'years of work');
    const workflow = join(REPO_ROOT, 'examples', 'discoverfiles.ts');
    for (const path of [file, other]) {
      for (const args of [
        ['stats', path],
        ['status', path],
        ['kill', path],
        ['clean', path],
        // A workflow program costs a few seconds: one kind of path is enough there.
        ...(path === file
          ? [
              ['run', workflow, path, '--restart'],
              ['run', workflow, path],
            ]
          : []),
      ]) {
        const result = await runToil(args);
        const lines = result.stderr.trim().split('\n');
        expect([args[0], result.code]).toEqual([args[0], 2]);
        expect(lines[0]).toMatch(new RegExp(`^toil: error: ${path} is not a job store: it `));
        expect(lines[1]).toMatch(/^ {2}hint: Check the locator/);
        expect(result.stderr).not.toContain('damaged');
      }
    }
    expect(readFileSync(file, 'utf8')).toBe('notes');
    expect(readdirSync(other)).toEqual(['thesis.tex']);
  });

  it('does not break words in --help off a terminal', async () => {
    const clean = await runToil(['clean', '--help']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('A missing store is not an error.');
    const run = await runToil(['run', '--help']);
    expect(run.stdout).toContain('--cleanWorkDir, --restart');
    expect(run.stdout).toContain('toil run examples/discoverfiles.ts file:my-jobstore --stats');
  });
});
