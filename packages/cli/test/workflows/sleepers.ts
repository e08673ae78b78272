// A root job with SLEEPERS children (default 4) that each sleep SLEEP_SECONDS (default 30);
// for `toil kill` and `toil status` on a running workflow. Restart with a short sleep to finish.
import { Job, Toil } from '@toil/workflow';

/** Sleeps for the number of seconds in SLEEP_SECONDS (read where it runs). */
export class Sleeper extends Job {
  override async run(): Promise<void> {
    const seconds = Number(process.env.SLEEP_SECONDS ?? '30');
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

/** Adds the sleepers. */
export class Root extends Job {
  override run(): void {
    for (let i = 0; i < Number(process.env.SLEEPERS ?? '4'); i++) this.addChild(new Sleeper());
  }
}

async function main(): Promise<void> {
  const options = Job.Runner.getDefaultOptions();
  await using toil = new Toil(options);
  if (!toil.options.restart) await toil.start(new Root());
  else await toil.restart();
}

Job.Runner.main(import.meta.url, main);
