/**
 * @toil/cluster-ssh: reach cluster nodes over SSH with their host keys checked against the
 * fingerprints pinned at launch.
 *
 * - {@link connectSsh} / {@link waitForSsh}: open a connection (key from `--sshKey`, the agent or
 *   `~/.ssh`), waiting through the node's boot with a timeout that names the phase.
 * - {@link SshConnection}: `exec` (streams, exit code), `shell` (PTY with resizes and raw keys),
 *   `runScript` (bootstrap stage 2, output as events), SFTP `putFile`/`getFile`, port forwards.
 * - {@link startDetachedRun} / {@link followDetachedRun} / {@link listDetachedRuns}: commands
 *   that outlive the connection (in tmux on the node), watched again later.
 *
 * @packageDocumentation
 */
export { CLUSTER_SSH_USAGE_ERROR_CODES } from './errors.js';
export { connectSsh, quoteCommand, SshConnection } from './connection.js';
export type {
  ConnectOptions,
  ExecOptions,
  ExitStatus,
  ForwardOptions,
  PortForward,
  RunScriptOptions,
  ShellOptions,
  SshTarget,
  TerminalSize,
} from './connection.js';
export {
  attachDetachedRunCommand,
  checkDetachedRunName,
  chooseDetachedRun,
  describeDetachedRunState,
  DETACHED_RUNS_DIR,
  detachedRunSession,
  followDetachedRun,
  listDetachedRuns,
  startDetachedRun,
} from './detached.js';
export type { DetachedRun, DetachedRunState, StartDetachedRunOptions } from './detached.js';
export { nodeConnector, waitForSsh } from './wait.js';
export type { NodeConnectTarget, SshWaitPhase, WaitForSshOptions } from './wait.js';
export { readPrivateKey, resolveCredentials, DEFAULT_KEY_NAMES } from './credentials.js';
export type { CredentialOptions, Credentials } from './credentials.js';
export {
  algorithmOf,
  describeHostKey,
  fingerprintOf,
  hostKeyAlgorithmsFor,
  isPinned,
  knownHostsLine,
  normaliseFingerprint,
} from './host-keys.js';
export type { PinnedHostKey, PresentedHostKey } from './host-keys.js';
export { findExecutable, parseRsyncArgs, rsyncArgv, rsyncCluster } from './rsync.js';
export type { ParsedRsyncArgs, RsyncClusterOptions, RsyncClusterResult } from './rsync.js';
export { parseSshOptions } from './ssh-options.js';
export type { SshOptionSettings } from './ssh-options.js';
