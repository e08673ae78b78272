import { fileURLToPath } from 'node:url';

/** Marks the errors of {@link unresolvableToilModule} (they cross the loader thread as copies). */
export const UNRESOLVABLE_MARK = 'installed neither next to the workflow nor with the toil CLI';

/** The scope whose imports fall back to the CLI's copies. */
export const TOIL_SCOPE = '@toil/';

/** True for Node's "module not found" errors of `import` and `require`. */
export function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** The package name of a specifier such as `@toil/jobstore/testing`. */
function packageName(specifier: string): string {
  return specifier.split('/').slice(0, 2).join('/');
}

/**
 * The one-line error for an `@toil/*` module that is installed neither next to the importing
 * file nor with the CLI, saying how to fix it. It keeps Node's code, so callers that look for
 * a missing module (optional backends) still recognise it.
 */
export function unresolvableToilModule(
  specifier: string,
  parent: string | undefined,
  code: 'ERR_MODULE_NOT_FOUND' | 'MODULE_NOT_FOUND',
): Error {
  const path = parent?.startsWith('file:') ? fileURLToPath(parent) : parent;
  // The fallback lookup runs from the CLI's package.json; that is no importer to name.
  const from = path?.endsWith('package.json') ? undefined : path;
  const name = packageName(specifier);
  const error = new Error(
    `Cannot find module '${specifier}'${from ? ` imported from ${from}` : ''}: it is ${UNRESOLVABLE_MARK}. Fix: npm install ${name} next to the workflow.`,
  ) as Error & { code: string };
  error.code = code;
  return error;
}
