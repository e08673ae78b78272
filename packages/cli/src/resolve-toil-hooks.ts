/**
 * Module resolution hooks (`module.register`) of a workflow program that `toil run` starts:
 * an `@toil/*` import that cannot be resolved from the importing file (nothing installed next
 * to the workflow) is resolved from the CLI's own package, so the CLI's copies serve it. A
 * copy installed next to the workflow always wins, because the normal resolution runs first.
 *
 * @packageDocumentation
 */
import {
  TOIL_SCOPE,
  UNRESOLVABLE_MARK,
  isModuleNotFound,
  unresolvableToilModule,
} from './resolve-toil-common.js';

/** The CLI's `package.json` URL, from {@link initialize}. */
let cliBase: string | undefined;

/** Receives the CLI's base URL from `module.register`. */
export function initialize(data: { base: string }): void {
  cliBase = data.base;
}

interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
  importAttributes?: Record<string, string>;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<unknown>;

/** Resolves `@toil/*` from the CLI's package when the importer cannot see it. */
export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<unknown> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (!specifier.startsWith(TOIL_SCOPE) || !isModuleNotFound(error) || !cliBase) throw error;
    // Already the fallback (the hook can be in the chain twice: the loader thread sees the
    // same --import), or the CLI itself: nothing else to try.
    if (
      context.parentURL === cliBase ||
      String((error as Error).message).includes(UNRESOLVABLE_MARK)
    )
      throw error;
    try {
      return await nextResolve(specifier, { ...context, parentURL: cliBase });
    } catch (fallbackError) {
      if (!isModuleNotFound(fallbackError)) throw fallbackError;
      throw unresolvableToilModule(specifier, context.parentURL, 'ERR_MODULE_NOT_FOUND');
    }
  }
}
