/**
 * `describe` for tests that need a real component of this machine (Slurm, sshd, Chromium…):
 * the block runs when `reason` is undefined; otherwise a loud warning and a skipped block on a
 * developer machine, or, under `CI=true`, a failing test: CI must run them.
 *
 * @param component what is missing, for the messages (`a real Slurm`, `Chromium`)
 * @param reason why it cannot run here, or undefined when it can
 */
export function describeWithComponent(
  component: string,
  reason: string | undefined,
  name: string,
  body: () => void,
): void {
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${component}`, () => {
        throw new Error(`CI must run the tests that need ${component}, but: ${reason}`);
      });
    });
    return;
  }
  console.warn(
    `\n${'!'.repeat(80)}\n!! WARNING: SKIPPING "${name}": ${reason}.\n` +
      `!! These tests need ${component}; in CI (CI=true) they fail instead.\n${'!'.repeat(80)}\n`,
  );
  describe.skip(name, body);
}
