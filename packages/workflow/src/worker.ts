/**
 * The worker entry point (`dist/worker.js`): run by the single-machine batch system as a warm
 * worker (`pool`), and by other batch systems as one job attempt (`run`, see
 * {@link buildWorkerArgv}).
 *
 * @packageDocumentation
 */
import { workerMain } from './worker-main.js';

void workerMain(process.argv.slice(2));
