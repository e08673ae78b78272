// The seed's discoverfiles.py in TypeScript: three DiscoverFiles jobs chained with addChild,
// the first two named with displayName, each running `ls` on a directory.
//
//   toil run examples/discoverfiles.ts file:my-jobstore --stats   (or: node --import tsx ...)
//   toil stats file:my-jobstore
import { execFileSync } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { Job, Toil, type JobOptions } from '@toil/workflow';

/** Views files at a specified path using ls. */
export class DiscoverFiles extends Job {
  constructor(
    public path: string,
    options?: JobOptions,
  ) {
    super(options);
  }

  override run(): void {
    execFileSync('ls', [this.path], { stdio: 'inherit' });
  }
}

async function main(): Promise<void> {
  const options = Job.Runner.getDefaultOptions();

  const job1 = new DiscoverFiles('/', { displayName: 'sysFiles' });
  const job2 = new DiscoverFiles(homedir(), { displayName: 'userFiles' });
  const job3 = new DiscoverFiles(tmpdir());

  job1.addChild(job2);
  job2.addChild(job3);

  await using toil = new Toil(options);
  if (!toil.options.restart) {
    await toil.start(job1);
  } else {
    await toil.restart();
  }
}

Job.Runner.main(import.meta.url, main);
