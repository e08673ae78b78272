import { ToilError } from '@toil/core';
import {
  defineCommand,
  type OptionSpecs,
  type PositionalSpecs,
  type ToilCommand,
} from '../command.js';

/**
 * A command whose implementing package is not part of this release. It parses its real
 * options (so `--help` is truthful about the interface) and then fails with exit 1 instead of
 * pretending to work.
 */
export function unavailableCommand<O extends OptionSpecs, P extends PositionalSpecs>(spec: {
  usage: string;
  describe: string;
  positionals: P;
  options: O;
  packageName: string;
}): ToilCommand<O, P> {
  return defineCommand({
    ...spec,
    epilogue: `Not available yet: this command needs ${spec.packageName}, which this release of toil-ts does not include.`,
    async run() {
      const name = spec.usage.split(' ')[0];
      throw new ToilError(
        'NOT_IMPLEMENTED',
        `toil ${name} is not available in this release: ${spec.packageName} is not built yet.`,
        {
          hint: 'See the project README for the commands that work today.',
        },
      );
    },
  });
}
