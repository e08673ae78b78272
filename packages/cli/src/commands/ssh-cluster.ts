import { constants } from 'node:os';
import { checkClusterName, clusterNamePositional, provisionerOptions } from '@toil/provisioner';
import { report } from '@toil/core';
import type { ExitStatus, SshConnection } from '@toil/cluster-ssh';
import { ToilError } from '@toil/core';
import { defineCommand, reportText, type CommandContext } from '../command.js';
import { openLeaderConnection, sshKeyOption, type LeaderArgs } from './cluster-ssh-common.js';

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
  '--runName',
]);

/** The options that may also stand right after the cluster name, as the Toil users write them. */
const MODE_WORDS = new Set(['--detach', '--attach']);

/** The command line that reaches this cluster again, for hints (quoted by `quote`, cluster-ssh's `quoteCommand`). */
function sshClusterCommandLine(
  args: LeaderArgs,
  quote: (words: readonly string[]) => string,
  ...rest: string[]
): string {
  const words = ['toil', 'ssh-cluster'];
  if (args.provisioner !== 'aws') words.push('--provisioner', args.provisioner);
  if (args.zone !== undefined) words.push('--zone', args.zone);
  if (args.project !== undefined) words.push('--project', args.project);
  if (args.sshKey !== undefined) words.push('--sshKey', args.sshKey);
  words.push(args.clusterName, ...rest);
  return quote(words);
}

/** This terminal, in raw mode, connected to a PTY on the leader running `command` (or a shell). */
async function terminalSession(connection: SshConnection, command?: string): Promise<ExitStatus> {
  const stdin = process.stdin;
  const size = () => ({
    columns: process.stdout.columns || 80,
    rows: process.stdout.rows || 24,
  });
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await connection.shell({
      input: stdin,
      output: process.stdout,
      size: size(),
      term: process.env.TERM || 'xterm-256color',
      ...(command === undefined ? {} : { command }),
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
}

/** Starts the remote command as a detached run and says how to come back to it. */
async function detach(
  connection: SshConnection,
  command: string[],
  args: LeaderArgs & { runName?: string },
  context: CommandContext,
): Promise<number> {
  const { startDetachedRun, DETACHED_RUNS_DIR, quoteCommand } = await import('@toil/cluster-ssh');
  const name = await startDetachedRun(connection, command, {
    ...(args.runName === undefined ? {} : { name: args.runName }),
    size: { columns: process.stdout.columns || 120, rows: process.stdout.rows || 40 },
  });
  const attach = sshClusterCommandLine(args, quoteCommand, '--attach', name);
  const started = {
    cluster: args.clusterName,
    run: name,
    command,
    attach,
    log: `~/${DETACHED_RUNS_DIR}/${name}/log`,
  };
  context.out(
    reportText(
      context.json,
      started,
      () =>
        `Started detached run ${name} on the leader of ${args.clusterName}: ${command.join(' ')}\n` +
        `It keeps running when this connection ends. Watch it (Ctrl-b d detaches again):\n  ${attach}\n` +
        `Its output is also kept on the leader in ${started.log}.\n`,
    ),
  );
  return 0;
}

/**
 * Shows a detached run again: on a terminal, a running run's own terminal (tmux); otherwise its
 * output from the start, followed until it ends. Exits with the run's exit status once it ended.
 */
async function attach(
  connection: SshConnection,
  requested: string | undefined,
  args: LeaderArgs,
  context: CommandContext,
  tty: boolean,
  shellOn: (command: string) => Promise<ExitStatus>,
): Promise<number> {
  const cs = await import('@toil/cluster-ssh');
  const run = cs.chooseDetachedRun(await cs.listDetachedRuns(connection), requested);
  let ended;
  if (tty && run.state === 'running') {
    await shellOn(cs.attachDetachedRunCommand(run.name));
    ended = (await cs.listDetachedRuns(connection)).find((r) => r.name === run.name) ?? run;
    if (ended.state === 'running') {
      report(
        context.host,
        'info',
        'DETACHED_RUN_DETACHED',
        `Detached from run ${run.name}; it keeps running. Back to it: ${sshClusterCommandLine(args, cs.quoteCommand, '--attach', run.name)}`,
        { run: run.name },
        'toil.ssh',
      );
      return 0;
    }
  } else {
    ended = await cs.followDetachedRun(connection, run.name, (chunk) =>
      process.stdout.write(chunk),
    );
  }
  if (ended.state === 'lost')
    throw new ToilError(
      'DETACHED_RUN_LOST',
      `Run ${run.name} is not running and recorded no exit status (the leader rebooted, or its tmux server was killed).`,
      { hint: `What it wrote is in ~/${cs.DETACHED_RUNS_DIR}/${run.name}/log on the leader.` },
    );
  report(
    context.host,
    'info',
    'DETACHED_RUN_ENDED',
    `Run ${run.name} exited with status ${ended.exitCode}.`,
    { run: run.name, exitCode: ended.exitCode },
    'toil.ssh',
  );
  return ended.exitCode ?? 1;
}

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
    detach: {
      type: 'boolean',
      default: false,
      describe:
        'Start the command as a detached run on the leader (in tmux): it survives the connection; print how to attach.',
    },
    attach: {
      type: 'boolean',
      default: false,
      describe:
        'Show a detached run again (the word after the cluster name names it; default the running one), live until it ends; exits with its status.',
    },
    runName: {
      type: 'string',
      describe: 'The name of a run started with --detach (default run-1, run-2, ...).',
    },
  },
  remainder: 'command',
  examples: [
    ['toil ssh-cluster my-cluster', 'A shell on the leader (screen and tmux work)'],
    ['toil ssh-cluster my-cluster toil stats aws:us-west-2:my-store', 'Run a command there'],
    ['toil ssh-cluster --sshOption "-L 6817:localhost:6817" my-cluster', 'Forward a port'],
    [
      'toil ssh-cluster my-cluster --detach toil run wf.ts aws:us-west-2:my-store',
      'Start a run that survives the connection',
    ],
    ['toil ssh-cluster my-cluster --attach', 'Watch it again (Ctrl-b d detaches)'],
  ],
  epilogue:
    "Options go before the cluster name: every word after it is the remote command, passed word for word (quoted for the remote shell), so write bash -c '...' for pipes. The exit status is the command's.",
  async run(args, context) {
    checkClusterName(args.clusterName);
    const command = (args.command ?? []).map(String);
    // Also registers this command's usage error codes (exit status 2).
    const { checkDetachedRunName } = await import('@toil/cluster-ssh');
    let { detach: detaching, attach: attaching } = args;
    while (command[0] !== undefined && MODE_WORDS.has(command[0])) {
      if (command.shift() === '--detach') detaching = true;
      else attaching = true;
    }
    if (detaching && attaching)
      throw new ToilError('SSH_MODE_CONFLICT', '--detach and --attach cannot be used together.', {
        hint: 'Start the run with --detach, then watch it with --attach.',
      });
    if (args.runName !== undefined && !detaching)
      throw new ToilError('SSH_MODE_CONFLICT', '--runName names a run started with --detach.', {
        hint: 'To watch a run, give its name after --attach: toil ssh-cluster CLUSTER --attach NAME.',
      });
    if (args.runName !== undefined) checkDetachedRunName(args.runName);
    if (detaching && command.length === 0)
      throw new ToilError(
        'DETACHED_RUN_NO_COMMAND',
        '--detach needs a command to run on the leader.',
        {
          hint: 'For example: toil ssh-cluster my-cluster --detach toil run wf.ts aws:us-west-2:my-store',
        },
      );
    if (attaching && command.length > 1)
      throw new ToilError(
        'SSH_MODE_CONFLICT',
        `--attach takes at most one word, the run's name, not '${command.join(' ')}'.`,
        { hint: 'toil ssh-cluster CLUSTER --attach [NAME]' },
      );
    if (attaching && command[0] !== undefined) checkDetachedRunName(command[0]);
    if (!detaching && !attaching && command[0]?.startsWith('-'))
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
      if (detaching) return await detach(connection, command, args, context);
      if (attaching)
        return await attach(connection, command[0], args, context, tty, (line) =>
          terminalSession(connection, line),
        );
      let status: ExitStatus;
      if (tty)
        status = await terminalSession(
          connection,
          command.length > 0 ? quoteCommand(command) : undefined,
        );
      else {
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
