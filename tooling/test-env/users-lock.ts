/**
 * The lock every test-made change of the user database takes (`flock`), on this machine and in
 * the simulated cloud's nodes alike. A node's `/etc` is an overlay on this machine's, so the
 * lock files of shadow-utils (`/etc/passwd.lock`...) that a `useradd` here holds show through in
 * every node, where a `usermod` then fails at once ("cannot lock /etc/passwd; try again
 * later") instead of waiting. `/dev/shm` is the same file system in the nodes (not overlaid,
 * not replaced), so one lock there orders them all.
 */
export const USERS_LOCK = '/dev/shm/toil-ts-test-users.lock';

/** `argv` run under {@link USERS_LOCK} (for `execFileSync`/`spawn`: `flock LOCK argv...`). */
export function underUsersLock(argv: string[]): [string, string[]] {
  return ['flock', [USERS_LOCK, ...argv]];
}
