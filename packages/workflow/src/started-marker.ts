import { writeFileSync } from 'node:fs';

/**
 * Environment variable through which `toil run` learns that the program it ran started a
 * workflow: the path of a file the program creates (see {@link markWorkflowStarted}).
 */
export const STARTED_MARKER_ENV = 'TOIL_RUN_STARTED_FILE';

/**
 * Tells `toil run` (when it is the caller) that this program is a workflow program: creates
 * the marker file once and drops the variable so that worker processes do not inherit it.
 */
export function markWorkflowStarted(): void {
  const marker = process.env[STARTED_MARKER_ENV];
  if (!marker) return;
  delete process.env[STARTED_MARKER_ENV];
  try {
    writeFileSync(marker, `${process.pid}\n`);
  } catch {
    // toil run removed its directory already (it is gone): nothing to tell.
  }
}
