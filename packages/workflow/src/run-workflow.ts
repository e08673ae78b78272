import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { constants } from 'node:os';
import { ToilError } from '@toil/core';
import { isTypeScript, tsxLoaderArgs } from './worker-command.js';

/** What {@link runWorkflowFile} runs. */
export interface RunWorkflowFileOptions {
  /** The workflow file (`.ts`, `.mts`, `.cts` through tsx; `.js`, `.mjs`, `.cjs` as is). */
  workflow: string;
  /** The program's arguments: the job store locator and options. */
  args: string[];
  /** Extra environment for the program. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a workflow file as its own program (what `toil run` does): `node [tsx] FILE ARGS...`
 * with this process's stdio, forwarding SIGINT and SIGTERM. Resolves to its exit status.
 * Throws `INVALID_ARGUMENT` when the file does not exist.
 */
export async function runWorkflowFile(options: RunWorkflowFileOptions): Promise<number> {
  const file = resolve(options.workflow);
  if (!existsSync(file)) {
    throw new ToilError(
      'INVALID_ARGUMENT',
      `The workflow file ${options.workflow} does not exist.`,
      {
        hint: 'Give the path of a workflow file (.ts or .js) that calls Job.Runner.main.',
      },
    );
  }
  const argv = [...(isTypeScript(file) ? tsxLoaderArgs() : []), file, ...options.args];
  const child = spawn(process.execPath, argv, {
    stdio: 'inherit',
    env: { ...process.env, ...options.env },
  });
  const forward = (signal: NodeJS.Signals) => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolveExit, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (signal) resolveExit(128 + ((constants.signals as Record<string, number>)[signal] ?? 0));
        else resolveExit(code ?? 1);
      });
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
