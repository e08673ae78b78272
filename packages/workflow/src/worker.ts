/**
 * The worker entry point (`dist/worker.js`): run by the single-machine batch system as a warm
 * worker (`pool`), by other batch systems as one job attempt (`run`, see `workerArguments` of
 * `@toil/batch-system`) or as a warm worker that takes attempts from a directory (`warm`, see
 * `warmWorkerArguments`). Each mode imports only its own modules, so a one-shot attempt
 * loads no process pool, IPC or compiler code.
 *
 * @packageDocumentation
 */
import { rerunWithUserCaCerts, restoreUserCaCerts } from './worker-ca.js';

// Milliseconds since the process started (what performance.now() gives, without perf_hooks).
const entered = { wall: process.uptime() * 1000, cpu: process.cpuUsage() };
// Started with the leader's CA store (see extra-ca.ts): Node's trust store is made from it and
// the user's setting goes back for the jobs; where this Node may trust other roots than that
// setting gives, the worker runs again.
const caCertsEquivalent = restoreUserCaCerts();

const argv = process.argv.slice(2);

function usage(): number {
  process.stderr.write(
    'Usage: worker.js run --jobStore LOCATOR --jobId JOB_ID --workflow FILE [--compiled FILE --hash SHA256]\n' +
      '       worker.js warm --dir DIR --heartbeat FILE --idle S --leaderTimeout S --jobStore LOCATOR --jobId - --workflow FILE [--compiled FILE --hash SHA256]\n',
  );
  return 2;
}

/** Runs the mode; a one-shot or warm worker resolves to its exit status. */
async function main(): Promise<number | undefined> {
  if (!caCertsEquivalent) return rerunWithUserCaCerts();
  if (argv[0] === 'run') {
    const [{ parseWorkerArguments }, { oneShotMain }] = await Promise.all([
      import('@toil/batch-system'),
      import('./worker-one-shot.js'),
    ]);
    const invocation = parseWorkerArguments(argv);
    return invocation ? oneShotMain(invocation, entered) : usage();
  }
  if (argv[0] === 'warm') {
    const [{ parseWarmWorkerArguments }, { warmMain }] = await Promise.all([
      import('@toil/batch-system'),
      import('./worker-warm.js'),
    ]);
    const spec = parseWarmWorkerArguments(argv);
    return spec ? warmMain(spec) : usage();
  }
  const { workerMain } = await import('./worker-main.js');
  await workerMain(argv);
  return undefined;
}

// Nothing is left to wait for once a one-shot or warm worker is done: timers of the job or of
// libraries must not delay the exit.
void main().then((status) => {
  if (status !== undefined) process.exit(status);
});
