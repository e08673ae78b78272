// A root job with JOBS children that each sleep SECONDS (1 core, 512 MiB): enough work that
// an autoscaling cluster grows for it.
//
//   toil run fanout.ts STORE --batchSystem slurm --jobs 20 --seconds 3
import { execFileSync } from 'node:child_process';
import { Job, Toil } from '@toil/workflow';

/** Sleeps, on whatever node Slurm gives it. */
export class Nap extends Job {
  constructor(public seconds: number) {
    super({ cores: 1, memory: '512M', disk: '1M' });
  }

  override run(): void {
    execFileSync('sleep', [String(this.seconds)]);
  }
}

/** Starts the naps. */
export class Root extends Job {
  constructor(
    public jobs: number,
    public seconds: number,
  ) {
    super({ cores: 1, memory: '256M', disk: '1M' });
  }

  override run(): void {
    for (let i = 0; i < this.jobs; i++) this.addChild(new Nap(this.seconds));
  }
}

async function main(): Promise<void> {
  const options = Job.Runner.getDefaultArgumentParser('Sleeping children')
    .option('jobs', { type: 'number', default: 20 })
    .option('seconds', { type: 'number', default: 3 })
    .parseArgs();
  await using toil = new Toil(options);
  await toil.start(new Root(options.jobs, options.seconds));
}

Job.Runner.main(import.meta.url, main);
