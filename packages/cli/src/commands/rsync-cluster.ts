import { report, UsageError } from '@toil/core';
import { checkClusterName, clusterNamePositional, provisionerOptions } from '@toil/provisioner';
import { defineCommand } from '../command.js';
import { resolveLeader, sshKeyOption } from './cluster-ssh-common.js';

/** Options of this command that are not rsync's: given after CLUSTER they are a mistake. */
const OWN_LONG_OPTIONS = ['--insecure', '--zone', '--provisioner', '--sshKey'];

export default defineCommand({
  usage: 'rsync-cluster <clusterName> [args..]',
  describe: "Copy files to or from the cluster's leader with rsync (':' marks the leader's side).",
  positionals: {
    ...clusterNamePositional,
    args: {
      type: 'string',
      array: true,
      describe: "rsync's arguments (verbatim); prefix the leader's path with ':'.",
    },
  },
  options: {
    ...provisionerOptions,
    insecure: {
      type: 'boolean',
      default: false,
      describe: 'Do not check the host key against the fingerprints pinned at launch.',
    },
    ...sshKeyOption,
  },
  remainder: 'args',
  examples: [
    [
      'toil rsync-cluster my-cluster -av discoverfiles.ts :',
      'Copy a file to the home directory on the leader',
    ],
    ['toil rsync-cluster my-cluster :results/out.txt .', 'Copy a file back'],
  ],
  epilogue:
    "Options go before the cluster name; the words after it are rsync's, passed without a shell. Exactly one argument starts with ':'. Runs the system rsync over ssh with the host key checked; when rsync is missing here or on the leader, plain copies go over SFTP instead. The exit status is rsync's.",
  async run(args, context) {
    checkClusterName(args.clusterName);
    const rsyncArgs = (args.args ?? []).map(String);
    const misplaced = rsyncArgs.find((a) => OWN_LONG_OPTIONS.includes(a.split('=')[0]!));
    if (misplaced !== undefined)
      throw new UsageError(
        `${misplaced} comes after the cluster name, where only rsync's arguments go.`,
        {
          hint: `Put toil's options before the cluster name: toil rsync-cluster ${misplaced} ${args.clusterName} ...`,
        },
      );
    if (rsyncArgs.length === 0)
      throw new UsageError('rsync-cluster needs something to copy after the cluster name.', {
        hint: `For example: toil rsync-cluster ${args.clusterName} ./file.ts :`,
      });
    // Loaded only now: --help needs no SSH library.
    const { parseRsyncArgs, rsyncCluster } = await import('@toil/cluster-ssh');
    parseRsyncArgs(rsyncArgs);
    const target = await resolveLeader(args, context);
    const result = await rsyncCluster({ ...target.connect, args: rsyncArgs, stdio: 'inherit' });
    if (result.exitCode !== 0)
      report(
        context.host,
        'error',
        'RSYNC_EXIT',
        `rsync exited with status ${result.exitCode}.`,
        { exitCode: result.exitCode },
        'toil.rsync',
      );
    return result.exitCode;
  },
});
