/**
 * The worker entry point (`dist/worker.js`): run by the single-machine batch system as a warm
 * worker (`pool`), by other batch systems as one job attempt (`run`, see `workerArguments` of
 * `@toil/batch-system`) or as a warm worker that takes attempts from a directory (`warm`, see
 * `warmWorkerArguments`). Each mode imports only its own modules, so a one-shot attempt
 * loads no process pool, IPC or compiler code.
 *
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';

const entered = performance.now();

// Compiled TypeScript workflows carry source maps: job logs show the user's .ts lines.
process.setSourceMapsEnabled(true);

const argv = process.argv.slice(2);
if (argv[0] === 'run') {
  void (async () => {
    const [{ parseWorkerArguments }, { oneShotMain }] = await Promise.all([
      import('@toil/batch-system'),
      import('./worker-one-shot.js'),
    ]);
    const invocation = parseWorkerArguments(argv);
    if (!invocation) {
      process.stderr.write(
        'Usage: worker.js run --jobStore LOCATOR --jobId JOB_ID --workflow FILE [--compiled FILE --hash SHA256]\n',
      );
      process.exit(2);
    }
    const status = await oneShotMain(invocation, entered);
    // Nothing is left to wait for: timers of the job or of libraries must not delay the exit.
    process.exit(status);
  })();
} else if (argv[0] === 'warm') {
  void (async () => {
    const [{ parseWarmWorkerArguments }, { warmMain }] = await Promise.all([
      import('@toil/batch-system'),
      import('./worker-warm.js'),
    ]);
    const spec = parseWarmWorkerArguments(argv);
    if (!spec) {
      process.stderr.write(
        'Usage: worker.js warm --dir DIR --heartbeat FILE --idle S --leaderTimeout S --jobStore LOCATOR --jobId - --workflow FILE [--compiled FILE --hash SHA256]\n',
      );
      process.exit(2);
    }
    process.exit(await warmMain(spec));
  })();
} else {
  void import('./worker-main.js').then(({ workerMain }) => workerMain(argv));
}
