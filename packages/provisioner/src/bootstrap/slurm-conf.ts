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

/**
 * The Slurm cloud nodes of one elastic node group: `<prefix>[0-<count-1>]`, powered down
 * (State=CLOUD) until the controller resumes them.
 */
export interface SlurmCloudGroup {
  /** The node names' prefix (`w0-`): the nodes are `w0-0`, `w0-1`, … */
  prefix: string;
  /** The group's maximum. */
  count: number;
  /** The first `alwaysOn` nodes are never suspended (the group's minimum). */
  alwaysOn: number;
  /** CPUs and memory (MiB) of the group's instance type, as Slurm may hand them out. */
  cpus: number;
  memoryMb: number;
  /** Slurm features: the instance type(s), `spot` for preemptible groups, the group name. */
  features: readonly string[];
}

/** Slurm's power saving for the cloud nodes (programs on the leader, times in seconds). */
export interface SlurmPowerSaving {
  resumeProgram: string;
  suspendProgram: string;
  resumeFailProgram: string;
  /** Idle seconds before a cloud node is suspended (terminated). */
  suspendTime: number;
  /** Seconds a resumed node has to register before Slurm marks it down. */
  resumeTimeout: number;
  /** Seconds a node has to go away after SuspendProgram. */
  suspendTimeout: number;
}

/** What {@link renderSlurmConf} needs. */
export interface SlurmConfInput {
  clusterName: string;
  /** The controller: the leader's short host name and private address. */
  controller: { hostname: string; address: string };
  /** The compute nodes (the workers), in a stable order. */
  nodes: readonly SlurmNodeLine[];
  /** Elastic node groups, with the power saving that starts and stops them. */
  cloud?: { groups: readonly SlurmCloudGroup[]; power: SlurmPowerSaving };
}

/** The Slurm host list of a cloud group's nodes: `w0-[0-2]`, or `w0-0` for one node. */
export function cloudGroupHostList(prefix: string, count: number): string {
  return count === 1 ? `${prefix}0` : `${prefix}[0-${count - 1}]`;
}

const PROGRAM = /^\/[A-Za-z0-9._/-]+$/;
const FEATURE = /^[A-Za-z0-9._-]+$/;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ADDRESS = /^[0-9A-Fa-f.:]+$/;

/**
 * Renders the slurm.conf stage 2 writes on every node (the same file everywhere, as Slurm
 * wants): the leader as `SlurmctldHost=<host>(<address>)`, one `NodeName` line per worker with
 * its address, CPUs and memory, one default partition `work` of all workers. Process
 * tracking by `/proc` (no cgroup set-up needed on the image), state and logs under
 * `/var/lib/slurm` and `/var/log/slurm`, munge authentication.
 *
 * With `cloud`, every elastic group adds its nodes as `State=CLOUD` with the instance type
 * as a feature, and Slurm's power saving resumes them (`ResumeProgram`) when jobs wait and
 * suspends them (`SuspendProgram`) after `SuspendTime` idle seconds; powered-down nodes are
 * visible to `sinfo` (`PrivateData=cloud`), a node that stops answering is marked down after
 * `SlurmdTimeout`, and jobs are not requeued by Slurm (`JobRequeue=0`): their node's loss ends
 * them `NODE_FAIL` and the workflow retries them.
 *
 * @throws Error when a host name or address could break out of its field.
 */
export function renderSlurmConf(input: SlurmConfInput): string {
  for (const node of [input.controller, ...input.nodes]) {
    if (!NAME.test(node.hostname)) throw new Error(`slurm.conf: bad host name '${node.hostname}'`);
    if (!ADDRESS.test(node.address)) throw new Error(`slurm.conf: bad address '${node.address}'`);
  }
  const cloud = input.cloud;
  for (const group of cloud?.groups ?? []) {
    if (!NAME.test(`${group.prefix}0`) || /[[\],]/.test(group.prefix))
      throw new Error(`slurm.conf: bad node name prefix '${group.prefix}'`);
    if (!(group.count >= 1) || !(group.alwaysOn >= 0) || group.alwaysOn > group.count)
      throw new Error(`slurm.conf: bad node count for '${group.prefix}'`);
    for (const feature of group.features)
      if (!FEATURE.test(feature)) throw new Error(`slurm.conf: bad feature '${feature}'`);
  }
  if (cloud)
    for (const program of [
      cloud.power.resumeProgram,
      cloud.power.suspendProgram,
      cloud.power.resumeFailProgram,
    ])
      if (!PROGRAM.test(program)) throw new Error(`slurm.conf: bad program path '${program}'`);
  const cloudGroups = cloud?.groups ?? [];
  const alwaysOn = cloudGroups
    .filter((g) => g.alwaysOn > 0)
    .map((g) => cloudGroupHostList(g.prefix, g.alwaysOn));
  const seconds = (n: number) => Math.max(1, Math.round(n));
  const powerLines = cloud
    ? [
        `ResumeProgram=${cloud.power.resumeProgram}`,
        `SuspendProgram=${cloud.power.suspendProgram}`,
        `ResumeFailProgram=${cloud.power.resumeFailProgram}`,
        `SuspendTime=${seconds(cloud.power.suspendTime)}`,
        `ResumeTimeout=${seconds(cloud.power.resumeTimeout)}`,
        `SuspendTimeout=${seconds(cloud.power.suspendTimeout)}`,
        'ResumeRate=0',
        'SuspendRate=0',
        ...(alwaysOn.length > 0 ? [`SuspendExcNodes=${alwaysOn.join(',')}`] : []),
        'PrivateData=cloud',
        'SlurmctldParameters=idle_on_node_suspend',
        'TreeWidth=65533',
        'SlurmdTimeout=60',
        'JobRequeue=0',
      ]
    : [];
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
    ...powerLines,
    ...cloudGroups.map(
      (g) =>
        `NodeName=${cloudGroupHostList(g.prefix, g.count)} CPUs=${Math.max(1, Math.floor(g.cpus))} RealMemory=${Math.max(1, Math.floor(g.memoryMb))} Features=${g.features.join(',')} State=CLOUD`,
    ),
    ...(input.nodes.length + cloudGroups.length > 0
      ? ['PartitionName=work Nodes=ALL Default=YES MaxTime=INFINITE State=UP']
      : []),
    '',
  ];
  return lines.join('\n');
}
