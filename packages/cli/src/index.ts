/**
 * @toil/cli: the `toil` command. The library entry lets scripts run the CLI in-process and
 * lets other packages add commands with the same conventions.
 *
 * @packageDocumentation
 */
export { CLI_VERSION, main, renderError } from './main.js';
/** Resolves the effective log level from Toil's logging flags (re-exported from @toil/core). */
export { resolveLogLevel } from '@toil/core';
export type { MainIo } from './main.js';
export { defineCommand } from './command.js';
export type {
  ArgsOf,
  CommandContext,
  OptionSpecs,
  PositionalSpecs,
  ToilCommand,
} from './command.js';
export { COMMANDS } from './commands/index.js';
export type { CommandEntry } from './commands/index.js';
export { TerminalHost, useColour } from './render.js';
export type { TerminalHostOptions } from './render.js';
