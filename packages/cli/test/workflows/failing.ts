// The seed's shape with one failing job: sysFiles -> okChild and boom (throws) -> neverRuns.
import { Job, Toil } from '@toil/workflow';

/** Does nothing, successfully. */
export class Ok extends Job {
  override run(): void {}
}

/** Fails on purpose, after logging a line its log will show. */
export class Boom extends Job {
  override run(): void {
    console.log('boom is about to raise');
    throw new Error('deliberate failure from the boom job');
  }
}

async function main(): Promise<void> {
  const options = Job.Runner.getDefaultOptions();
  const root = new Ok({ displayName: 'sysFiles' });
  root.addChild(new Ok({ displayName: 'okChild' }));
  root.addChild(new Boom()).addChild(new Ok({ displayName: 'neverRuns' }));
  await using toil = new Toil(options);
  if (!toil.options.restart) await toil.start(root);
  else await toil.restart();
}

Job.Runner.main(import.meta.url, main);
