import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ToilError, registerUsageErrorCodes } from '@toil/core';
import type { BatchSystemPlugin } from './contract.js';
import type { OptionSpecs } from './options.js';

declare module '@toil/core' {
  interface ToilErrorCodeRegistry {
    /** `--batchSystem NAME` names no registered plugin and no installed `@toil/batch-NAME`. */
    BATCH_SYSTEM_UNKNOWN: true;
  }
}
registerUsageErrorCodes('BATCH_SYSTEM_UNKNOWN');

const REGISTRY_KEY = Symbol.for('@toil/batch-system/plugins');

// Kept on globalThis so that duplicated installs of this package share one registry.
function registry(): Map<string, BatchSystemPlugin> {
  const global = globalThis as unknown as Record<
    symbol,
    Map<string, BatchSystemPlugin> | undefined
  >;
  return (global[REGISTRY_KEY] ??= new Map());
}

/** The package a batch system named `name` comes in: `@toil/batch-NAME`. */
export function batchSystemPackage(name: string): string {
  return `@toil/batch-${name}`;
}

/**
 * Makes `--batchSystem NAME` (and its aliases) use `plugin` in this process, ahead of any
 * package. The engine registers its single-machine system this way; a workflow module may
 * register its own.
 */
export function registerBatchSystem<S extends OptionSpecs>(plugin: BatchSystemPlugin<S>): void {
  for (const name of [plugin.name, ...(plugin.aliases ?? [])]) {
    registry().set(name, plugin as unknown as BatchSystemPlugin);
  }
}

/** The plugins registered in this process (each once). */
export function registeredBatchSystems(): BatchSystemPlugin[] {
  return [...new Set(registry().values())];
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Codes of `require` refusing an ES module (not of the module failing as it runs). */
const REQUIRE_REFUSED = new Set([
  'ERR_REQUIRE_ESM',
  'ERR_REQUIRE_ASYNC_MODULE',
  'ERR_REQUIRE_CYCLE_MODULE',
]);

function load(specifier: string, from: readonly string[]): Record<string, unknown> | undefined {
  for (const base of from) {
    const require = createRequire(base);
    let path: string;
    try {
      path = require.resolve(specifier);
    } catch {
      continue;
    }
    const esm = moduleEntry(require, specifier);
    if (esm !== undefined) {
      try {
        return require(esm) as Record<string, unknown>;
      } catch (error) {
        // This Node cannot require it (before 20.19, top-level await, an import cycle): the
        // CommonJS entry then, as before.
        if (!REQUIRE_REFUSED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      }
    }
    return require(path) as Record<string, unknown>;
  }
  return undefined;
}

/**
 * The ES module entry (`exports["."].import`) of the package `specifier`, when its manifest
 * can be read: `require` loads it synchronously (Node >= 20.19), so that the plugin shares
 * this process's ES copies of `@toil/core` and `@toil/batch-system` instead of loading their
 * CommonJS builds a second time. Undefined otherwise (the CommonJS entry is used).
 */
function moduleEntry(require: NodeJS.Require, specifier: string): string | undefined {
  try {
    const manifestPath = require.resolve(`${specifier}/package.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      exports?: Record<string, unknown>;
    };
    const root = (manifest.exports?.['.'] ?? manifest.exports) as
      { import?: string | { default?: unknown } } | undefined;
    const target = typeof root?.import === 'string' ? root.import : root?.import?.default;
    return typeof target === 'string' && target.startsWith('./')
      ? join(dirname(manifestPath), target)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one way a batch system is found by name: a plugin registered under that name, else the
 * package `@toil/batch-NAME` resolved from each of `from` in turn (paths of files: the
 * workflow module first, then the engine), whose `batchSystem` export is the plugin.
 * Synchronous, so that a workflow's options (the plugin's among them) are checked before
 * anything is stored.
 *
 * @throws ToilError `BATCH_SYSTEM_UNKNOWN` (usage) when neither exists, and
 * `BATCH_SYSTEM_UNAVAILABLE` when the package does not export a plugin.
 */
export function resolveBatchSystem(name: string, from: readonly string[]): BatchSystemPlugin {
  const registered = registry().get(name);
  if (registered) return registered;
  const packageName = batchSystemPackage(name);
  const module = PACKAGE_NAME.test(name) ? load(packageName, from) : undefined;
  if (!module) {
    throw new ToilError(
      'BATCH_SYSTEM_UNKNOWN',
      `Unknown batch system '${name}': no ${packageName} is installed.`,
      {
        hint: `Choose one of: ${knownBatchSystems(from).join(', ')}; another batch system NAME is the package @toil/batch-NAME, installed next to the workflow.`,
      },
    );
  }
  const plugin = module.batchSystem as BatchSystemPlugin | undefined;
  if (!plugin || typeof plugin.create !== 'function' || typeof plugin.options !== 'object') {
    throw new ToilError(
      'BATCH_SYSTEM_UNAVAILABLE',
      `${packageName} does not export a batch system plugin ('batchSystem').`,
      { hint: `Install a version of ${packageName} built for this @toil/batch-system.` },
    );
  }
  return plugin;
}

/**
 * Names `--batchSystem` accepts here: the registered plugins and every `@toil/batch-NAME`
 * package installed in a `node_modules` above one of `from`.
 */
export function knownBatchSystems(from: readonly string[]): string[] {
  const names = new Set(registeredBatchSystems().map((p) => p.name));
  for (const base of from) {
    for (let dir = dirname(base); ; dir = dirname(dir)) {
      try {
        for (const entry of readdirSync(join(dir, 'node_modules', '@toil'))) {
          const match = /^batch-(.+)$/.exec(entry);
          if (match && match[1] !== 'system') names.add(match[1]!);
        }
      } catch {
        // no node_modules/@toil here
      }
      if (dirname(dir) === dir) break;
    }
  }
  return [...names];
}
