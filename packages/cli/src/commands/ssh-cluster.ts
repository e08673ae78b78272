import { constants } from 'node:os';
import { checkClusterName, clusterNamePositional, provisionerOptions } from '@toil/provisioner';
import { report } from '@toil/core';
import type { ExitStatus } from '@toil/cluster-ssh';
import { defineCommand } from '../command.js';
import { openLeaderConnection, sshKeyOption } from './cluster-ssh-common.js';

/** The exit code a shell would give for a remote exit status. */
export function exitCodeOf(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const signal = status.signal as keyof typeof constants.signals | null;
  return 128 + (signal && signal in constants.signals ? constants.signals[signal] : 1);
}

const OWN_OPTIONS = new Set([
  '--insecure',
  '--zone',
  '-z',
  '--provisioner',
  '-p',
  '--sshOption',
  '--sshKey',
]);

export default defineCommand({
  usage: 'ssh-cluster <clusterName> [command..]',
  describe: 'SSH into the leader of the cluster: a shell, or run a command there.',
  positionals: {
    ...clusterNamePositional,
    command: {
      type: 'string',
      array: true,
      describe: 'A command to run on the leader (every word after the cluster name, verbatim).',
    },
  },
  options: {
    ...provisionerOptions,
    insecure: {
      type: 'boolean',
      default: false,
      describe: 'Do not check the host key against the fingerprints pinned at launch.',
    },
    sshOption: {
      type: 'string',
      describe:
        'An ssh option, written with "=": --sshOption=-L8080:localhost:8080, --sshOption="-o ServerAliveInterval=30" (repeatable).',
    },
    ...sshKeyOption,
  },
  remainder: 'command',
  examples: [
    ['toil ssh-cluster my-cluster', 'A shell on the leader (screen and tmux work)'],
    ['toil ssh-cluster my-cluster toil stats aws:us-west-2:my-store', 'Run a command there'],
    ['toil ssh-cluster --sshOption "-L 6817:localhost:6817" my-cluster', 'Forward a port'],
  ],
  epilogue:
    "Options go before the cluster name: every word after it is the remote command, passed word for word (quoted for the remote shell), so write bash -c '...' for pipes. The exit status is the command's.",
  async run(args, context) {
    checkClusterName(args.clusterName);
    const command = (args.command ?? []).map(String);
    if (command[0]?.startsWith('-'))
      report(
        context.host,
        'warning',
        'SSH_COMMAND_LOOKS_LIKE_OPTION',
        OWN_OPTIONS.has(command[0].split('=')[0]!)
          ? `Argument '${command[0]}' comes after the cluster name, so it is part of the remote command, not an option of toil ssh-cluster: put options before ${args.clusterName}.`
          : `Argument '${command[0]}' interpreted as a command to run despite looking like an option.`,
        { argument: command[0] },
        'toil.ssh',
      );
    const { connection, forwards } = await openLeaderConnection(args, context);
    const { quoteCommand } = await import('@toil/cluster-ssh');
    const stdin = process.stdin;
    const tty = Boolean(stdin.isTTY && process.stdout.isTTY);
    try {
      let status: ExitStatus;
      if (tty) {
        const size = () => ({
          columns: process.stdout.columns || 80,
          rows: process.stdout.rows || 24,
        });
        stdin.setRawMode(true);
        stdin.resume();
        try {
          status = await connection.shell({
            input: stdin,
            output: process.stdout,
            size: size(),
            term: process.env.TERM || 'xterm-256color',
            ...(command.length > 0 ? { command: quoteCommand(command) } : {}),
            onResize: (listener) => {
              const onResize = () => listener(size());
              process.stdout.on('resize', onResize);
              return () => process.stdout.off('resize', onResize);
            },
          });
        } finally {
          stdin.setRawMode(false);
          stdin.pause();
        }
      } else {
        status = await connection.exec(command.length > 0 ? command : 'exec "${SHELL:-/bin/sh}"', {
          stdin,
          onStdout: (chunk) => process.stdout.write(chunk),
          onStderr: (chunk) => process.stderr.write(chunk),
        });
        stdin.pause();
      }
      return exitCodeOf(status);
    } finally {
      for (const forward of forwards) await forward.close();
      connection.close();
    }
  },
});
