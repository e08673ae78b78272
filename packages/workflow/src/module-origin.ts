/**
 * Where a workflow module comes from, for messages: the user's own file (not the compiled
 * JavaScript in the cache that workers load) and the line of a definition in it. Used only on
 * error paths, so nothing here runs while a workflow goes well.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ToilError } from '@toil/core';
import { userFrame } from './program-error.js';

const BANNER = '// toil-ts: compiled from ';
const INLINE_MAP = '//# sourceMappingURL=data:application/json;base64,';

/**
 * The first line of a compiled workflow, naming the file it was compiled from: it travels with
 * the code (the compile cache, the job store's copy for other machines), so every worker can
 * name the user's file. JSON-quoted, with the two line separators JSON leaves as they are
 * escaped too, so that no path ends the comment. @internal
 */
export function sourceBanner(source: string): string {
  return (
    BANNER +
    JSON.stringify(source)
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029')
  );
}

const sources = new Map<string, string>();

/**
 * The user's file behind a workflow module: for compiled JavaScript (see {@link sourceBanner})
 * the file it was compiled from, else the module itself. @internal
 */
export function workflowSourceOf(modulePath: string): string {
  let source = sources.get(modulePath);
  if (source === undefined) {
    source = bannerSource(modulePath) ?? modulePath;
    sources.set(modulePath, source);
  }
  return source;
}

function bannerSource(modulePath: string): string | undefined {
  let head: string;
  try {
    const fd = openSync(modulePath, 'r');
    try {
      const buffer = Buffer.alloc(8192);
      head = buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const first = head.split('\n', 1)[0]!;
  if (!first.startsWith(BANNER)) return undefined;
  try {
    const source = JSON.parse(first.slice(BANNER.length)) as unknown;
    return typeof source === 'string' ? source : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `code` (esbuild's output, written to `dir`) with the sources of its inline source map as
 * absolute file URLs instead of paths relative to `dir`. @internal
 */
export function absoluteSourceMap(code: string, dir: string): string {
  const at = code.lastIndexOf(INLINE_MAP);
  if (at < 0) return code;
  const payload = JSON.parse(
    Buffer.from(code.slice(at + INLINE_MAP.length).trim(), 'base64').toString('utf8'),
  ) as MapPayload;
  payload.sources = payload.sources?.map((source) =>
    /^[a-z][a-z0-9+.-]*:/i.test(source) ? source : pathToFileURL(resolve(dir, source)).href,
  );
  return `${code.slice(0, at)}${INLINE_MAP}${Buffer.from(JSON.stringify(payload)).toString('base64')}\n`;
}

/** A place in the user's files. */
export interface SourcePlace {
  file: string;
  /** 1-based. */
  line: number;
}

/**
 * Where the class or function `name` is defined in a workflow module: its first declaration in
 * the module's text (`function name`, `class name`, `var/let/const name =`), mapped through the
 * module's inline source map to the user's file and line when it has one. Undefined when the
 * module cannot be read or declares no such name. @internal
 */
export function definitionOf(modulePath: string, name: string): SourcePlace | undefined {
  if (!/^[\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$\u200c\u200d]*$/u.test(name)) {
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(modulePath, 'utf8');
  } catch {
    return undefined;
  }
  const id = name.replace(/\$/g, '\\$');
  // A function or class declaration first: a variable of the same name may be a local one.
  const declaration = ['\\bfunction\\s*\\*?\\s*|\\bclass\\s+', '\\b(?:var|let|const)\\s+']
    .map((kind) => new RegExp(`(?:${kind})${id}(?![\\p{L}\\p{N}$_])`, 'u').exec(text))
    .find((match) => match !== null);
  if (!declaration) return undefined;
  const at = declaration.index + declaration[0].length - name.length;
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  const column = at - (before.lastIndexOf('\n') + 1);
  const mapAt = text.lastIndexOf(INLINE_MAP);
  if (mapAt < 0) return { file: modulePath, line: line + 1 };
  return mappedPlace(modulePath, text.slice(mapAt + INLINE_MAP.length).trim(), line, column);
}

interface MapPayload {
  sources?: string[];
  sourceRoot?: string;
}

function mappedPlace(
  modulePath: string,
  base64: string,
  line: number,
  column: number,
): SourcePlace | undefined {
  try {
    const payload = JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as MapPayload;
    const { SourceMap } = process.getBuiltinModule('node:module');
    const entry = new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]).findEntry(
      line,
      column,
    ) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource === undefined || entry.originalLine === undefined) return undefined;
    return {
      file: sourceFile(modulePath, payload, entry.originalSource),
      line: entry.originalLine + 1,
    };
  } catch {
    return undefined;
  }
}

/** A source map's source as a path: as Node resolves it (`sourceRoot` + source, against the map's file). */
function sourceFile(modulePath: string, payload: MapPayload, source: string): string {
  const joined = `${payload.sourceRoot ?? ''}${source}`;
  if (joined.startsWith('file:')) return fileURLToPath(joined);
  return isAbsolute(joined) ? joined : resolve(dirname(modulePath), joined);
}

/** "(it is defined at line N)" when in `module`'s own file, else with the file: for messages. @internal */
export function describeDefinition(modulePath: string, name: string): string {
  const place = definitionOf(modulePath, name);
  if (!place) return '';
  const source = workflowSourceOf(modulePath);
  return place.file === source
    ? ` (it is defined at line ${place.line})`
    : ` (it is defined at ${place.file}:${place.line})`;
}

/** `file:line:column` of a stack frame, a path also where the frame has a file URL (ES modules). */
function framePlace(frame: string): string {
  const place = /\(([^()]+)\)$/.exec(frame)?.[1] ?? frame.replace(/^at /, '');
  const url = /^(file:\/\/.+?)(:\d+:\d+)$/.exec(place);
  if (!url) return place;
  try {
    return `${fileURLToPath(url[1]!)}${url[2]}`;
  } catch {
    return place;
  }
}

/**
 * A worker's failure to import the workflow module, naming the user's file and the line that
 * threw (through source maps). Workers import the module to find its jobs but do not run its
 * `Job.Runner.main`, so code at the module's top level that only works in the leader fails
 * here. @internal
 */
export function workflowLoadError(error: unknown, modulePath: string): ToilError {
  const summary = ToilError.is(error)
    ? error.message
    : error instanceof Error
      ? `${error.name}: ${error.message.split('\n', 1)[0]}`
      : String(error);
  const frame =
    error instanceof Error && !ToilError.is(error) ? userFrame(error.stack ?? '') : undefined;
  const where = frame ? ` (${framePlace(frame)})` : '';
  return new ToilError(
    'WORKFLOW_MODULE_FAILED',
    `The workflow module ${workflowSourceOf(modulePath)} failed to load in a worker: ${summary}${where}`,
    {
      hint:
        (ToilError.is(error) ? error.hint : undefined) ??
        "Workers import the workflow module to find its jobs but do not run Job.Runner.main: code at the module's top level runs there too. Fix that line, or move the code into main.",
      cause: error,
    },
  );
}
