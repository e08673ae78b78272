import { groupDemand } from '@toil/batch-system';

const small = { cores: 1, memory: 1024, disk: 2048, preemptible: false };
const big = { cores: 4, memory: 8192, disk: 2048, preemptible: false };

describe('groupDemand', () => {
  it('counts jobs with the same requirements once, in order of first appearance', () => {
    expect(groupDemand([small, big, small, { ...small }, big])).toEqual([
      { ...small, jobs: 3 },
      { ...big, jobs: 2 },
    ]);
  });

  it('keeps preemptible jobs apart from the others', () => {
    expect(groupDemand([small, { ...small, preemptible: true }])).toEqual([
      { ...small, jobs: 1 },
      { ...small, preemptible: true, jobs: 1 },
    ]);
  });

  it('is empty for no waiting jobs', () => {
    expect(groupDemand([])).toEqual([]);
  });
});
