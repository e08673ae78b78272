/** A Slurm compute node as slurm.conf declares it. */
export interface SlurmNodeLine {
  /** The node's short host name (what its slurmd registers as). */
  hostname: string;
  /** Its private address, where slurmctld reaches its slurmd. */
  address: string;
  cpus: number;
  /** Memory Slurm may hand out, in MiB. */
  memoryMb: number;
}

/** What {@link renderSlurmConf} needs. */
export interface SlurmConfInput {
  clusterName: string;
  /** The controller: the leader's short host name and private address. */
  controller: { hostname: string; address: string };
  /** The compute nodes (the workers), in a stable order. */
  nodes: readonly SlurmNodeLine[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ADDRESS = /^[0-9A-Fa-f.:]+$/;

/**
 * Renders the slurm.conf stage 2 writes on every node (the same file everywhere, as Slurm
 * wants): the leader as `SlurmctldHost=<host>(<address>)`, one `NodeName` line per worker with
 * its address, CPUs and memory, one default partition `work` of all workers. Process
 * tracking by `/proc` (no cgroup set-up needed on the image), state and logs under
 * `/var/lib/slurm` and `/var/log/slurm`, munge authentication.
 *
 * @throws Error when a host name or address could break out of its field.
 */
export function renderSlurmConf(input: SlurmConfInput): string {
  for (const node of [input.controller, ...input.nodes]) {
    if (!NAME.test(node.hostname)) throw new Error(`slurm.conf: bad host name '${node.hostname}'`);
    if (!ADDRESS.test(node.address)) throw new Error(`slurm.conf: bad address '${node.address}'`);
  }
  const lines = [
    '# Written by toil-ts bootstrap stage 2; the same on every node of the cluster.',
    `ClusterName=${input.clusterName.replace(/[^a-z0-9]/g, '').slice(0, 40) || 'toil'}`,
    `SlurmctldHost=${input.controller.hostname}(${input.controller.address})`,
    'SlurmUser=slurm',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    'MpiDefault=none',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/linux',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core_Memory',
    'DefMemPerCPU=1024',
    'SchedulerParameters=batch_sched_delay=0,bf_interval=5',
    'ReturnToService=2',
    'MailProg=/bin/true',
    'StateSaveLocation=/var/lib/slurm/slurmctld',
    'SlurmdSpoolDir=/var/lib/slurm/slurmd',
    'SlurmctldPidFile=/run/slurmctld.pid',
    'SlurmdPidFile=/run/slurmd.pid',
    'SlurmctldLogFile=/var/log/slurm/slurmctld.log',
    'SlurmdLogFile=/var/log/slurm/slurmd.log',
    ...input.nodes.map(
      (n) =>
        `NodeName=${n.hostname} NodeAddr=${n.address} CPUs=${Math.max(1, Math.floor(n.cpus))} RealMemory=${Math.max(1, Math.floor(n.memoryMb))} State=UNKNOWN`,
    ),
    ...(input.nodes.length > 0
      ? ['PartitionName=work Nodes=ALL Default=YES MaxTime=INFINITE State=UP']
      : []),
    '',
  ];
  return lines.join('\n');
}
