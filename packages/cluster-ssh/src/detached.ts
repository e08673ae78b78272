import { ToilError } from '@toil/core';
import { quoteCommand, type SshConnection, type TerminalSize } from './connection.js';
import { CLUSTER_SSH_USAGE_ERROR_CODES } from './errors.js';

// The codes must be registered wherever a bundler keeps only what is used (see credentials.ts).
void CLUSTER_SSH_USAGE_ERROR_CODES;

/**
 * Detached runs: commands started on a node inside a tmux session, so that they outlive the
 * SSH connection that started them and can be watched again later (`ssh-cluster --detach` /
 * `--attach`). Each run keeps its files in `~/.toil-ts/runs/NAME/` on the node:
 *
 * - `command`: the command line as started;
 * - `started`: when, in epoch seconds;
 * - `log`: everything the run wrote to its terminal (tmux `pipe-pane`, from the first byte);
 * - `log.pid`: the pid of the process writing `log`;
 * - `status`: its exit status, written when it ends.
 *
 * The run's terminal is a real one (tmux), so a CLI shows its live progress display there and
 * an attached user sees it as if the run had been started in their own terminal.
 */

/** Where detached runs keep their files, relative to the login user's home on the node. */
export const DETACHED_RUNS_DIR = '.toil-ts/runs';

/** The state of a detached run as seen on the node. */
export type DetachedRunState = 'running' | 'exited' | 'lost';

/** One detached run on a node. */
export interface DetachedRun {
  /** Its name (`run-1`, or the name given at start). */
  name: string;
  /**
   * `running` while its tmux session exists; `exited` once its exit status is recorded; `lost`
   * when neither (the node rebooted, or someone killed the tmux server).
   */
  state: DetachedRunState;
  /** The exit status, once `exited`. */
  exitCode?: number;
  /** When it was started, in epoch seconds. */
  started?: number;
  /** The command line as started (newlines and tabs shown as spaces). */
  command: string;
}

/** Options of {@link startDetachedRun}. */
export interface StartDetachedRunOptions {
  /** The run's name; default the first free `run-N`. */
  name?: string;
  /** The size of the run's terminal; default 120 x 40. */
  size?: TerminalSize;
}

// tmux session names cannot hold '.' or ':' (target syntax).
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

/** The exit codes the scripts below use to say what went wrong (the node's shell gives them). */
const NO_TMUX = 90;
const NAME_TAKEN = 91;
const NO_SUCH_RUN = 92;

/** Throws `DETACHED_RUN_NAME_INVALID` unless `name` can name a run (and a tmux session). */
export function checkDetachedRunName(name: string): void {
  if (!NAME_PATTERN.test(name))
    throw new ToilError(
      'DETACHED_RUN_NAME_INVALID',
      `'${name}' cannot name a detached run: use 1 to 40 letters, digits, '_' or '-', starting with a letter or digit.`,
      { hint: 'For example --runName nightly-1.' },
    );
}

/** The tmux session that holds run `name`. */
export function detachedRunSession(name: string): string {
  return `toil-${name}`;
}

/** The command that attaches a terminal to a running run (for `SshConnection.shell`). */
export function attachDetachedRunCommand(name: string): string {
  checkDetachedRunName(name);
  return quoteCommand(['tmux', 'attach-session', '-t', `=${detachedRunSession(name)}`]);
}

// Every script runs as `sh -c SCRIPT sh ARG...`: names and the user's command reach the node's
// shell only as positional parameters, never spliced into the script text.

// What the run's tmux pane runs: waits for the signal that output capture is in place, runs the
// command line, records its exit status. Arguments: NAME, COMMAND LINE.
const PANE_SCRIPT = `
tmux wait-for "toil-$1-go"
sh -c "$2"
status=$?
printf '%s\\n' "$status" >"$HOME/${DETACHED_RUNS_DIR}/$1/status"
`;

// Arguments: NAME (empty: the first free run-N), COLUMNS, ROWS, COMMAND LINE, PANE SCRIPT.
const START_SCRIPT = `
set -u
command -v tmux >/dev/null 2>&1 || exit ${NO_TMUX}
name=$1 cols=$2 rows=$3 inner=$4 pane=$5
runs="$HOME/${DETACHED_RUNS_DIR}"
mkdir -p "$runs" || exit 1
if [ -z "$name" ]; then
  n=1
  while ! mkdir "$runs/run-$n" 2>/dev/null; do n=$((n + 1)); done
  name=run-$n
else
  tmux has-session -t "=toil-$name" 2>/dev/null && exit ${NAME_TAKEN}
  mkdir "$runs/$name" 2>/dev/null || exit ${NAME_TAKEN}
fi
dir="$runs/$name"
printf '%s\\n' "$inner" >"$dir/command"
date +%s >"$dir/started"
: >"$dir/log"
tmux new-session -d -s "toil-$name" -c "$HOME" -x "$cols" -y "$rows" sh -c "$pane" sh "$name" "$inner" || exit 1
# The name is letters, digits, _ and - only, so it can stand in pipe-pane's shell command.
tmux pipe-pane -t "=toil-$name:" "echo \\$\\$ >\\"\\$HOME/${DETACHED_RUNS_DIR}/$name/log.pid\\"; exec cat >>\\"\\$HOME/${DETACHED_RUNS_DIR}/$name/log\\"" || exit 1
tmux wait-for -S "toil-$name-go" || exit 1
printf '%s\\n' "$name"
`;

const LIST_SCRIPT = `
runs="$HOME/${DETACHED_RUNS_DIR}"
[ -d "$runs" ] || exit 0
for dir in "$runs"/*/; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  if [ -f "$dir/status" ]; then state=exited; status=$(cat "$dir/status")
  elif command -v tmux >/dev/null 2>&1 && tmux has-session -t "=toil-$name" 2>/dev/null; then state=running; status=
  else state=lost; status=
  fi
  started=$(cat "$dir/started" 2>/dev/null)
  printf '%s\\t%s\\t%s\\t%s\\t' "$name" "$state" "$status" "$started"
  tr '\\n\\t' '  ' <"$dir/command" 2>/dev/null
  printf '\\n'
done
`;

// Follows the log until the process that writes it (pipe-pane's cat, which ends only after the
// pane has ended and its last output is written) exits.
const FOLLOW_SCRIPT = `
dir="$HOME/${DETACHED_RUNS_DIR}/$1"
[ -d "$dir" ] || exit ${NO_SUCH_RUN}
if tmux has-session -t "=toil-$1" 2>/dev/null; then
  i=0
  while [ ! -s "$dir/log.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  pid=$(cat "$dir/log.pid" 2>/dev/null)
  [ -n "$pid" ] && exec tail -c +1 -s 0.2 -f --pid="$pid" "$dir/log"
fi
exec cat "$dir/log"
`;

function shScript(script: string, ...args: string[]): string {
  return quoteCommand(['sh', '-c', script, 'sh', ...args]);
}

function remoteFailure(what: string, status: { code: number | null; stderr: string }): ToilError {
  return new ToilError(
    'DETACHED_RUN_FAILED',
    `Could not ${what} on the node (exit ${status.code ?? 'by signal'}${status.stderr.trim() ? `: ${status.stderr.trim().split('\n').at(-1)}` : ''}).`,
    { hint: 'Run the same with --logLevel debug, or look at the node with toil ssh-cluster.' },
  );
}

/**
 * Starts `command` (words, quoted for the node's shell) in a new tmux session on the node and
 * returns the run's name at once; the run goes on when the connection closes.
 */
export async function startDetachedRun(
  connection: SshConnection,
  command: readonly string[],
  options: StartDetachedRunOptions = {},
): Promise<string> {
  if (command.length === 0)
    throw new ToilError('DETACHED_RUN_NO_COMMAND', 'A detached run needs a command to run.', {
      hint: 'For example: toil ssh-cluster my-cluster --detach toil run workflow.ts aws:us-west-2:my-store',
    });
  if (options.name !== undefined) checkDetachedRunName(options.name);
  const size = options.size ?? { columns: 120, rows: 40 };
  const result = await connection.execCapture(
    shScript(
      START_SCRIPT,
      options.name ?? '',
      String(size.columns),
      String(size.rows),
      quoteCommand(command),
      PANE_SCRIPT,
    ),
  );
  if (result.code === NO_TMUX)
    throw new ToilError('DETACH_NEEDS_TMUX', 'The node has no tmux, which detached runs need.', {
      hint: 'Install it there (toil ssh-cluster CLUSTER sudo apt-get install -y tmux); clusters launched by this version have it on the leader.',
    });
  if (result.code === NAME_TAKEN)
    throw new ToilError(
      'DETACHED_RUN_EXISTS',
      `A detached run named ${options.name} already exists on the node.`,
      {
        hint: `Watch it with --attach ${options.name}, or choose another --runName.`,
      },
    );
  if (result.code !== 0) throw remoteFailure('start the detached run', result);
  return result.stdout.trim();
}

/** Lists the detached runs on the node, oldest first. */
export async function listDetachedRuns(connection: SshConnection): Promise<DetachedRun[]> {
  const result = await connection.execCapture(shScript(LIST_SCRIPT));
  if (result.code !== 0) throw remoteFailure('list the detached runs', result);
  const runs = result.stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line): DetachedRun => {
      const [name = '', state = 'lost', status = '', started = '', ...rest] = line.split('\t');
      const run: DetachedRun = {
        name,
        state: state as DetachedRunState,
        command: rest.join(' ').trim(),
      };
      if (status !== '' && Number.isInteger(Number(status))) run.exitCode = Number(status);
      if (started !== '' && Number.isFinite(Number(started))) run.started = Number(started);
      return run;
    });
  return runs.sort((a, b) => (a.started ?? 0) - (b.started ?? 0));
}

/**
 * The run `--attach` means: the one named, else the only running one, else (none running) the
 * most recently started. Throws `DETACHED_RUN_NOT_FOUND` / `DETACHED_RUN_AMBIGUOUS` otherwise.
 */
export function chooseDetachedRun(runs: readonly DetachedRun[], name?: string): DetachedRun {
  const list = runs.map((r) => `${r.name} (${describeDetachedRunState(r)})`).join(', ');
  if (name !== undefined) {
    const run = runs.find((r) => r.name === name);
    if (run) return run;
    throw new ToilError('DETACHED_RUN_NOT_FOUND', `No detached run named ${name} on the node.`, {
      hint: runs.length > 0 ? `There are: ${list}.` : 'Start one with --detach.',
    });
  }
  const running = runs.filter((r) => r.state === 'running');
  if (running.length === 1) return running[0]!;
  if (running.length > 1)
    throw new ToilError(
      'DETACHED_RUN_AMBIGUOUS',
      `${running.length} detached runs are running on the node; say which one to attach to.`,
      { hint: `--attach NAME, one of: ${list}.` },
    );
  const latest = runs.at(-1);
  if (latest) return latest;
  throw new ToilError('DETACHED_RUN_NOT_FOUND', 'There are no detached runs on the node.', {
    hint: 'Start one with toil ssh-cluster CLUSTER --detach COMMAND...',
  });
}

/** `running`, `exited 0`, `lost`. */
export function describeDetachedRunState(run: DetachedRun): string {
  return run.state === 'exited' ? `exited ${run.exitCode ?? '?'}` : run.state;
}

/**
 * Streams run `name`'s output from its first byte to `onOutput` and, if it is still running,
 * follows it until it ends. Resolves to the run as it stands afterwards. The run is not
 * affected when the connection drops meanwhile (the promise then rejects).
 */
export async function followDetachedRun(
  connection: SshConnection,
  name: string,
  onOutput: (chunk: Buffer) => void,
): Promise<DetachedRun> {
  checkDetachedRunName(name);
  const stderr: Buffer[] = [];
  const status = await connection.exec(shScript(FOLLOW_SCRIPT, name), {
    onStdout: onOutput,
    onStderr: (chunk) => stderr.push(chunk),
  });
  if (status.code === NO_SUCH_RUN)
    throw new ToilError('DETACHED_RUN_NOT_FOUND', `No detached run named ${name} on the node.`, {
      hint: 'List them with --attach and no name, or start one with --detach.',
    });
  if (status.code !== 0)
    throw remoteFailure(`follow run ${name}`, {
      code: status.code,
      stderr: Buffer.concat(stderr).toString('utf8'),
    });
  const run = (await listDetachedRuns(connection)).find((r) => r.name === name);
  return run ?? { name, state: 'lost', command: '' };
}
