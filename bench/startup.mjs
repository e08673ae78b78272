// CLI start-up: median of 10 runs of `toil --help`, `toil stats --help`, `toil launch-cluster --help`.
import { CLI, median, timeCommand } from './lib.mjs';

const RUNS = 10;
const CASES = [
  { name: 'toil --help', args: ['--help'], target: 0.2 },
  { name: 'toil stats --help', args: ['stats', '--help'], target: 0.2 },
  { name: 'toil status --help', args: ['status', '--help'], target: 0.2 },
  { name: 'toil launch-cluster --help', args: ['launch-cluster', '--help'] },
];

export default async function run({ log }) {
  const floor = [];
  for (let i = 0; i < RUNS; i++)
    floor.push((await timeCommand([process.execPath, '-e', '0'])).seconds);
  const rows = [{ name: 'node -e 0 (floor)', value: median(floor), unit: 's' }];
  for (const c of CASES) {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const result = await timeCommand([process.execPath, CLI, ...c.args]);
      if (result.code !== 0) throw new Error(`${c.name} exited ${result.code}: ${result.stderr}`);
      times.push(result.seconds);
    }
    log(`${c.name}: ${times.map((t) => t.toFixed(3)).join(' ')}`);
    rows.push({
      name: `${c.name} (median of ${RUNS})`,
      value: median(times),
      unit: 's',
      target: c.target,
    });
  }
  return rows;
}
