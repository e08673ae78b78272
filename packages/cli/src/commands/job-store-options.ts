import type { PositionalOptions } from 'yargs';

/** The `<jobStore>` positional of every command that works on a job store. */
export const jobStorePositional = {
  jobStore: {
    type: 'string',
    demandOption: true,
    describe: 'The job store locator (file:PATH, PATH or aws:REGION:NAME).',
  },
} satisfies Record<string, PositionalOptions>;
