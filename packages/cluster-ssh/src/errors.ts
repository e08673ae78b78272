import { registerUsageErrorCodes } from '@toil/core';

declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    /** The node presented a host key whose fingerprint is not among the pinned ones. */
    SSH_HOST_KEY_MISMATCH: true;
    /** Host-key checking is on but the node has no pinned host keys to check against. */
    SSH_HOST_KEY_NOT_PINNED: true;
    /** `--sshKey` names a file that does not exist. */
    SSH_KEY_NOT_FOUND: true;
    /** A private key file is readable by other users (ssh refuses such keys too). */
    SSH_KEY_PERMISSIONS: true;
    /** A private key file could not be read or parsed (or is encrypted). */
    SSH_KEY_INVALID: true;
    /** No private key, no agent: nothing to log in with. */
    SSH_NO_CREDENTIALS: true;
    /** The TCP connection or the SSH handshake failed. */
    SSH_CONNECT_FAILED: true;
    /** The node refused every key offered. */
    SSH_AUTH_FAILED: true;
    /** A wait for SSH ran out of time (the message names the phase). */
    SSH_TIMEOUT: true;
    /** The connection dropped while a command, shell or transfer was running. */
    SSH_CONNECTION_LOST: true;
    /** A remote command could not be started. */
    SSH_EXEC_FAILED: true;
    /** A bootstrap (or other) script run over SSH exited non-zero. */
    SSH_SCRIPT_FAILED: true;
    /** An SFTP transfer failed. */
    SSH_TRANSFER_FAILED: true;
    /** A port forward could not be set up. */
    SSH_FORWARD_FAILED: true;
    /** An `--sshOption` this tool does not understand. */
    SSH_OPTION_INVALID: true;
    /** rsync-cluster arguments without exactly one `:` (remote) side, or not a plain copy. */
    RSYNC_ARGS_INVALID: true;
    /** rsync could not be started. */
    RSYNC_FAILED: true;
    /** rsync is missing (locally or on the node) and the arguments are not a plain copy. */
    RSYNC_UNAVAILABLE: true;
    /** A detached run's name has characters a run name cannot have. */
    DETACHED_RUN_NAME_INVALID: true;
    /** `--detach` without a command to run. */
    DETACHED_RUN_NO_COMMAND: true;
    /** A detached run of that name exists already on the node. */
    DETACHED_RUN_EXISTS: true;
    /** No detached run of that name (or none at all) on the node. */
    DETACHED_RUN_NOT_FOUND: true;
    /** `--attach` without a name while several detached runs are running. */
    DETACHED_RUN_AMBIGUOUS: true;
    /** The node has no tmux, which detached runs need. */
    DETACH_NEEDS_TMUX: true;
    /** Starting, listing or following a detached run failed on the node. */
    DETACHED_RUN_FAILED: true;
    /** A detached run is not running and recorded no exit status. */
    DETACHED_RUN_LOST: true;
    /** `ssh-cluster` modes that exclude each other (`--detach` with `--attach`, ...). */
    SSH_MODE_CONFLICT: true;
  }
}

/** The codes of this package that mean "the user's input is wrong" (CLI exit status 2). */
export const CLUSTER_SSH_USAGE_ERROR_CODES = [
  'SSH_KEY_NOT_FOUND',
  'SSH_KEY_PERMISSIONS',
  'SSH_OPTION_INVALID',
  'RSYNC_ARGS_INVALID',
  'DETACHED_RUN_NAME_INVALID',
  'DETACHED_RUN_NO_COMMAND',
  'DETACHED_RUN_AMBIGUOUS',
  'SSH_MODE_CONFLICT',
] as const;

registerUsageErrorCodes(...CLUSTER_SSH_USAGE_ERROR_CODES);
