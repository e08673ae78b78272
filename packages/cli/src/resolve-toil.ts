/**
 * Preloaded with `--import` (through `NODE_OPTIONS`) into a workflow program that `toil run`
 * starts, and imported by its workers when they need it (`TOIL_RESOLVE_HOOK`). Makes the workflow's `@toil/*` imports resolve to
 * the CLI's own copies when they are not installed next to the workflow (so `npm i -g
 * @toil/cli` is enough to run a workflow file), for `import` (a `module.register` resolve
 * hook) and `require` alike. A copy installed next to the workflow is always preferred.
 *
 * @packageDocumentation
 */
import Module, { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import {
  TOIL_SCOPE,
  UNRESOLVABLE_MARK,
  isModuleNotFound,
  unresolvableToilModule,
} from './resolve-toil-common.js';

const cliBase = new URL('../package.json', import.meta.url).href;
const cliPackageJson = fileURLToPath(cliBase);

register(new URL('./resolve-toil-hooks.js', import.meta.url), {
  data: { base: cliBase },
});

// A hook costs every Node process a loader thread through which each module passes (about
// 0.4 s of CPU per one-shot Slurm worker): the processes this one starts do not preload it.
// Workers load it (TOIL_RESOLVE_HOOK) only when their workflow module's imports need it.
const hook = process.env.TOIL_RESOLVE_HOOK;
if (hook && process.env.NODE_OPTIONS) {
  const rest = process.env.NODE_OPTIONS.split(' ')
    .filter((word) => word !== `--import=${hook}`)
    .join(' ');
  // The user's environment had none: the workflow and its jobs see it unset, as the user set it.
  if (rest) process.env.NODE_OPTIONS = rest;
  else delete process.env.NODE_OPTIONS;
}

type ResolveFilename = (
  request: string,
  parent: { filename?: string | null } | undefined,
  isMain: boolean,
  options?: unknown,
) => string;

const cjs = Module as unknown as { _resolveFilename: ResolveFilename };
const original = cjs._resolveFilename;
const fromCli = createRequire(cliBase);
let falling = false;

// require() has no public resolve hook on Node 20; this wraps the resolver as tsx and
// tsconfig-paths do, and only ever for `@toil/*` requests that failed.
cjs._resolveFilename = function resolveToil(request, parent, isMain, options) {
  try {
    return original.call(this, request, parent, isMain, options);
  } catch (error) {
    if (falling || !request.startsWith(TOIL_SCOPE) || !isModuleNotFound(error)) throw error;
    // A lookup from the CLI's own package (the ESM fallback can come here) has nowhere else to go.
    if (parent?.filename === cliPackageJson) throw error;
    falling = true;
    try {
      return fromCli.resolve(request);
    } catch (fallbackError) {
      if (!isModuleNotFound(fallbackError)) throw fallbackError;
      throw unresolvableToilModule(request, parent?.filename ?? undefined, 'MODULE_NOT_FOUND');
    } finally {
      falling = false;
    }
  }
};

// An unresolvable @toil/* import is the user's to fix: one line, not Node's stack. Any other
// uncaught error is left to the program's own listeners, or reported as Node would (the
// error and its stack, exit status 1), without this module's frame on top.
process.on('uncaughtException', (error: unknown) => {
  const message = (error as { message?: unknown } | null)?.message;
  if (
    isModuleNotFound(error) &&
    typeof message === 'string' &&
    message.includes(UNRESOLVABLE_MARK)
  ) {
    process.stderr.write(`toil: error: ${message}\n`);
    process.exit(1);
  }
  if (process.listenerCount('uncaughtException') > 1) return;
  process.stderr.write(`${inspect(error)}\n\nNode.js ${process.version}\n`);
  process.exit(1);
});
