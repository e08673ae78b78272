import type { Argv } from 'yargs';
import {
  LOGGING_OPTIONS,
  ToilError,
  isUsageError,
  UsageError,
  resolveLogLevel,
  toToilError,
} from '@toil/core';
import type { CommandContext, ToilCommand } from './command.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import { TerminalHost } from './render.js';

declare const __TOIL_PACKAGE_VERSION__: string | undefined;

/** The version of this CLI (from its package.json at build time; `0.0.0-dev` when run from source). */
export const CLI_VERSION: string =
  typeof __TOIL_PACKAGE_VERSION__ === 'string' ? __TOIL_PACKAGE_VERSION__ : '0.0.0-dev';

/** Logging options as Toil has them, shared by every command. */
const globalOptions = {
  ...LOGGING_OPTIONS,
  json: {
    type: 'boolean',
    default: false,
    describe: 'Print the report (and any error) as JSON on stdout; events as NDJSON on stderr.',
  },
} as const;

/** What {@link main} writes to; replaceable for tests. */
export interface MainIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: MainIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

function topLevelHelp(): string {
  const shown = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...shown.map((c) => c.name.length));
  const lines = shown.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: toil COMMAND ...',
    '       toil --help',
    '       toil COMMAND --help',
    '',
    'Where COMMAND is one of the following:',
    '',
    ...lines,
    '',
    'Logging options (every command): --logLevel LEVEL, --logDebug, --logInfo, --logWarning,',
    '  --logError, --logCritical, --logOff, --logFile FILE. Add --json for machine-readable output.',
    '',
  ].join('\n');
}

function firstPositional(argv: string[]): string | undefined {
  return argv.find((a) => !a.startsWith('-'));
}

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json') || argv.includes('--raw');
}

function wantsDebug(argv: string[]): boolean {
  const i = argv.findIndex((a) => a === '--logLevel' || a.startsWith('--logLevel='));
  const value = i < 0 ? '' : argv[i]!.includes('=') ? argv[i]!.split('=')[1]! : (argv[i + 1] ?? '');
  return argv.includes('--logDebug') || value.toLowerCase() === 'debug';
}

/** Words only the CLI itself understands (it answers or renders them): yargs must parse. */
const CLI_WORDS = new Set(['--help', '-h', '--json', '--raw', '--version', '-v', '--']);

/**
 * The words after `name` when they start with two plain words (no option before them) and
 * hold no word the CLI itself must handle: what a pass-through command (`run`) can take
 * without yargs. Undefined otherwise.
 */
export function passThroughArgs(argv: string[], name: string): string[] | undefined {
  if (argv[0] !== name) return undefined;
  const words = argv.slice(1);
  if (words.length < 2 || words[0]!.startsWith('-') || words[1]!.startsWith('-')) return undefined;
  if (words.some((word) => CLI_WORDS.has(word) || /^--(json|raw|help)=/.test(word)))
    return undefined;
  return words;
}

function closestCommand(name: string): string | undefined {
  const distance = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [
      i,
      ...Array<number>(b.length).fill(0),
    ]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i]![j] = Math.min(
          d[i - 1]![j]! + 1,
          d[i]![j - 1]! + 1,
          d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
    return d[a.length]![b.length]!;
  };
  const best = COMMANDS.map((c) => ({ name: c.name, d: distance(name, c.name) })).sort(
    (x, y) => x.d - y.d,
  )[0];
  return best && best.d <= 3 ? best.name : undefined;
}

/**
 * Renders an error: one line plus a hint on stderr (the stack only at debug level), or
 * `{"error":{code,message,hint}}` on stdout with `--json`. Returns the exit code: 2 for usage
 * errors, 1 for everything else.
 */
export function renderError(error: unknown, argv: string[], io: MainIo = processIo): number {
  const toil = toToilError(error);
  const exitCode = isUsageError(toil) ? 2 : 1;
  if (wantsJson(argv)) {
    io.stdout(
      JSON.stringify({
        error: {
          code: toil.code,
          message: toil.message,
          ...(toil.hint ? { hint: toil.hint } : {}),
        },
      }) + '\n',
    );
    return exitCode;
  }
  let text = `toil: error: ${toil.message}\n`;
  if (toil.hint) text += `  hint: ${toil.hint}\n`;
  if (wantsDebug(argv)) {
    const cause = toil.cause instanceof Error ? toil.cause : toil;
    text += `${cause.stack ?? ''}\n`;
  }
  io.stderr(text);
  return exitCode;
}

/**
 * The width `--help` wraps to: the terminal's (at most 110), or none off a terminal, where
 * yargs' wrapping (cliui's ESM build) would break words in the middle.
 */
function helpWidth(): number | null {
  return process.stdout.isTTY ? Math.min(110, process.stdout.columns ?? 100) : null;
}

/** Breaks `text` into lines of at most `width` characters at spaces (long words stay whole). */
export function wordWrap(text: string, width: number | null): string {
  if (width === null) return text;
  return text
    .split('\n')
    .map((paragraph) => {
      const lines: string[] = [];
      let line = '';
      for (const word of paragraph.split(' ')) {
        if (line && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else {
          line = line ? `${line} ${word}` : word;
        }
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}

/**
 * Splits a command line at the first positional after the command name (for a command with a
 * {@link ToilCommand.remainder}): what comes before it, and the words after it, which are kept
 * verbatim. Options that take a value (by their spec) skip their value.
 */
export function splitAtRemainder(
  argv: string[],
  commandName: string,
  options: Record<string, { type?: string; alias?: string | readonly string[]; choices?: unknown }>,
): { head: string[]; rest: string[]; found: boolean } {
  const takesValue = new Set<string>();
  for (const [name, spec] of Object.entries(options)) {
    if (spec.type === 'boolean' || spec.type === 'count') continue;
    const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const aliases = spec.alias === undefined ? [] : [spec.alias].flat();
    for (const n of [name, kebab, ...aliases]) takesValue.add(n.length === 1 ? `-${n}` : `--${n}`);
  }
  const start = argv.indexOf(commandName) + 1;
  for (let i = start; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      const at = i + 1;
      return {
        head: [...argv.slice(0, i), ...argv.slice(at, at + 1)],
        rest: argv.slice(at + 1),
        found: at < argv.length,
      };
    }
    if (word.startsWith('-') && word.length > 1) {
      if (!word.includes('=') && takesValue.has(word)) i++;
      continue;
    }
    return { head: argv.slice(0, i + 1), rest: argv.slice(i + 1), found: true };
  }
  return { head: argv, rest: [], found: false };
}

function registerCommand(
  parser: Argv,
  command: ToilCommand,
  run: (args: Record<string, unknown>) => Promise<void>,
): Argv {
  return parser.command(
    command.usage,
    wordWrap(command.describe, helpWidth()),
    (y) => {
      for (const [name, spec] of Object.entries(command.positionals)) y.positional(name, spec);
      y.options(command.options);
      for (const [cmd, description] of command.examples ?? []) y.example(cmd, description);
      if (command.epilogue) y.epilogue(wordWrap(command.epilogue, helpWidth()));
      if (command.passThrough)
        y.parserConfiguration({ 'unknown-options-as-args': true }).strict(false);
      return y;
    },
    async (args) => run(args as Record<string, unknown>),
  );
}

/**
 * Runs the `toil` command line and resolves to the exit code. Never calls `process.exit`,
 * so it can be driven from tests and scripts.
 */
export async function main(argv: string[], io: MainIo = processIo): Promise<number> {
  try {
    const name = firstPositional(argv);
    if (name === undefined) {
      if (argv.includes('--version') || argv.includes('-v')) {
        io.stdout(`${CLI_VERSION}\n`);
        return 0;
      }
      if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
        io.stdout(topLevelHelp());
        return 0;
      }
      throw new UsageError(`Unknown option ${JSON.stringify(argv[0])}.`, {
        hint: 'Pass --help to display usage information.',
      });
    }
    const entry: CommandEntry | undefined = COMMANDS.find((c) => c.name === name);
    if (!entry) {
      const guess = closestCommand(name);
      throw new UsageError(`Unknown command "${name}".`, {
        hint: guess
          ? `Did you mean "toil ${guess}"? Run "toil --help" for the list of commands.`
          : 'Run "toil --help" for the list of commands.',
      });
    }
    const direct = passThroughArgs(argv, entry.name);
    if (direct) {
      // `toil run WF STORE [options]` as users type it: the program parses every option
      // (logging ones too), so yargs is not even loaded.
      const command = await entry.load();
      const positionals = Object.keys(command.positionals);
      if (command.passThrough && positionals.length === 2) {
        const [first, second, ...rest] = direct;
        const context: CommandContext = {
          host: new TerminalHost({ level: 'info', json: false }),
          out: io.stdout,
          json: false,
          logLevel: 'info',
          version: CLI_VERSION,
        };
        const args = { [positionals[0]!]: first, [positionals[1]!]: second, _: [name, ...rest] };
        return await command.run(args as never, context);
      }
    }
    // yargs is loaded only once a command is chosen: `toil --help` does not need it.
    const [command, { default: yargs }] = await Promise.all([entry.load(), import('yargs')]);
    let exitCode = 0;
    let help = '';
    const parser = yargs()
      .scriptName('toil')
      .options(globalOptions)
      .strict()
      .help('help')
      .alias('help', 'h')
      .version(false)
      .wrap(helpWidth())
      .exitProcess(false)
      .fail((message, error) => {
        if (error) throw error;
        throw new UsageError(message.replace(/\n+/g, ' '), {
          hint: `Run "toil ${entry.name} --help" for usage.`,
        });
      });
    let parseArgv = argv;
    let rest: string[] | undefined;
    if (command.remainder) {
      const split = splitAtRemainder(argv, entry.name, {
        ...globalOptions,
        ...(command.options as Record<string, { type?: string }>),
      });
      parseArgv = split.head;
      rest = split.rest;
      const wanted = Object.keys(command.positionals)[0];
      if (!split.found && wanted && !argv.includes('--help') && !argv.includes('-h'))
        throw new UsageError(`toil ${entry.name} needs the ${wanted} argument.`, {
          hint: `Run "toil ${entry.name} --help" for usage.`,
        });
    }
    if (command.ownHelp && (argv.includes('--help') || argv.includes('-h'))) {
      const level = resolveLogLevel({});
      const context: CommandContext = {
        host: new TerminalHost({ level, json: false }),
        out: io.stdout,
        json: false,
        logLevel: level,
        version: CLI_VERSION,
      };
      const code = await command.ownHelp(argv, context);
      if (code !== undefined) return code;
    }
    registerCommand(parser, command, async (args) => {
      if (command.remainder && rest) args[command.remainder] = rest;
      const level = resolveLogLevel(args);
      const json = Boolean(args.json);
      const host = new TerminalHost({ level, json, logFile: args.logFile as string | undefined });
      const context: CommandContext = {
        host,
        out: io.stdout,
        json,
        logLevel: level,
        version: CLI_VERSION,
      };
      exitCode = await command.run(args as never, context);
    });
    await parser.parseAsync(parseArgv, {}, (error, _args, output) => {
      if (error) throw error;
      help = output;
    });
    if (help) io.stdout(help.endsWith('\n') ? help : help + '\n');
    return exitCode;
  } catch (error) {
    return renderError(
      error instanceof Error && !ToilError.is(error) && error.name === 'YError'
        ? new UsageError(error.message)
        : error,
      argv,
      io,
    );
  }
}
