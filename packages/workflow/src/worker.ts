/**
 * The worker entry point (`dist/worker.js`): run by the single-machine batch system as a warm
 * worker (`pool`), and by other batch systems as one job attempt (`run`, see
 * {@link buildWorkerArgv}).
 *
 * @packageDocumentation
 */
import { workerMain } from './worker-main.js';

// Compiled TypeScript workflows carry source maps: job logs show the user's .ts lines.
process.setSourceMapsEnabled(true);

void workerMain(process.argv.slice(2));
