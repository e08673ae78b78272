// One job asking for more cores than any node type of the cluster has.
import { Job, Toil } from '@toil/workflow';

/** Needs 64 cores. */
export class Huge extends Job {
  constructor() {
    super({ cores: 64, memory: '512M', disk: '1M' });
  }

  override run(): void {}
}

async function main(): Promise<void> {
  await using toil = new Toil(Job.Runner.getDefaultOptions());
  await toil.start(new Huge());
}

Job.Runner.main(import.meta.url, main);
