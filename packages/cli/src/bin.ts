#!/usr/bin/env node
const argv = process.argv.slice(2);

/**
 * `toil run WORKFLOW STORE ...`: the run's first pool worker starts before anything else
 * loads (`startEarlyPoolWorker`), and is told the compiled module once it is known (see
 * `offerFirstWorkerEarly`); the run adopts it, or it is killed at exit.
 */
async function offerWorkerFirst(): Promise<void> {
  const [command, workflow, store] = argv;
  if (command !== 'run' || !workflow || !store || workflow.startsWith('-') || store.startsWith('-'))
    return;
  try {
    const { startEarlyPoolWorker } = await import('@toil/workflow/early-worker');
    startEarlyPoolWorker(argv.slice(1));
    const { offerFirstWorkerEarly } = await import('@toil/workflow/run-workflow');
    await offerFirstWorkerEarly(workflow, argv.slice(2));
  } catch {
    // `toil run` reports what is wrong.
  }
}

offerWorkerFirst()
  .then(async () => (await import('./main.js')).main(argv))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`toil: internal error: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
