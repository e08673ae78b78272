/**
 * `@toil/workflow/early-worker`: what `toil run` does before anything else, {@link
 * startEarlyPoolWorker}. Loads only the pool worker's spawning code (no `@toil/*` package),
 * so the worker starts while the CLI and the engine load.
 *
 * @packageDocumentation
 */
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { offerPoolWorker } from './pool-worker-offer.js';

/** The value of `--NAME V` / `--NAME=V` in `args` (the last one given), else undefined. @internal */
export function optionValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--${name}`) value = args[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  }
  return value;
}

/**
 * The batch system `--batchSystem` in `args` names when it is not the single machine (the
 * default), else undefined. @internal
 */
export function otherBatchSystem(args: readonly string[]): string | undefined {
  const name = optionValue(args, 'batchSystem');
  return name === 'single_machine' ? undefined : name;
}

/**
 * Where the first pool worker of a run with the program arguments `args` (the job store, then
 * options) would go, when the run looks like a new single-machine run: its job store as given
 * and its work directory. Undefined for anything else (help, `--restart`, another batch
 * system, a work directory that is not one). @internal
 */
export function poolWorkerPlace(
  args: readonly string[],
): { jobStore: string; workDir: string } | undefined {
  const [jobStore] = args;
  if (!jobStore || jobStore.startsWith('-')) return undefined;
  if (args.some((arg) => /^(--help|-h|--version|--restart(=true)?)$/.test(arg))) return undefined;
  if (otherBatchSystem(args) !== undefined) return undefined;
  const given = optionValue(args, 'workDir');
  const workDir = given === undefined ? tmpdir() : resolve(given);
  if (!statSync(workDir, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  return { jobStore, workDir };
}

/**
 * `toil run WORKFLOW ARGS...` (`argv` is `[WORKFLOW, ...ARGS]`): starts the run's first pool
 * worker at once, before the CLI, the engine or the workflow module load, when the run looks
 * like a new single-machine run. The worker loads the engine and waits to be told its
 * workflow module (`runWorkflowFile` does, once it compiled the workflow, or kills it); a
 * worker that nothing adopts is killed and its directory removed when this process exits at
 * the latest. Never throws. @internal
 */
export function startEarlyPoolWorker(argv: readonly string[]): void {
  try {
    const [workflow, ...args] = argv;
    if (!workflow || workflow.startsWith('-')) return;
    const place = poolWorkerPlace(args);
    if (place) offerPoolWorker(place);
  } catch {
    // `toil run` reports what is wrong.
  }
}
