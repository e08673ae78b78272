// Jest's order, except that the files known to take minutes (a simulated cloud with real nodes,
// the release rehearsal) start first: on 2 workers a long file that starts last sets the run's
// wall time on its own. Without a timing cache (a clean clone, as in CI) jest orders by file
// size, which puts these late.
const Sequencer = require('@jest/test-sequencer').default;

const SLOW_FIRST = [
  /autoscale-on-simcloud\.test\.ts$/,
  /autoscale-on-simcloud-gce\.test\.ts$/,
  /seed-on-simcloud\.test\.ts$/,
  /cluster-on-simcloud\.test\.ts$/,
  /release-rehearsal\.test\.ts$/,
];

const rank = (path) => {
  const index = SLOW_FIRST.findIndex((pattern) => pattern.test(path));
  return index === -1 ? SLOW_FIRST.length : index;
};

class SlowFirstSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    // Array.prototype.sort is stable: jest's order is kept within each rank.
    return [...sorted].sort((a, b) => rank(a.path) - rank(b.path));
  }
}

module.exports = SlowFirstSequencer;
