import type { JobRequirements, ResourceDemand } from './contract.js';

/**
 * Groups the requirements of waiting jobs into {@link ResourceDemand}s, one per distinct
 * (cores, memory, disk, preemptible), in the order each first appears: what a batch system's
 * {@link ScalingCapability.demand} returns.
 */
export function groupDemand(requirements: Iterable<JobRequirements>): ResourceDemand[] {
  const groups = new Map<string, ResourceDemand>();
  for (const r of requirements) {
    const key = `${r.cores}/${r.memory}/${r.disk}/${r.preemptible}`;
    const group = groups.get(key);
    if (group) group.jobs++;
    else
      groups.set(key, {
        cores: r.cores,
        memory: r.memory,
        disk: r.disk,
        preemptible: r.preemptible,
        jobs: 1,
      });
  }
  return [...groups.values()];
}
