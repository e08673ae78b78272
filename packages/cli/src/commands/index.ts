import type { ToilCommand } from '../command.js';

/** A sub-command as listed in `toil --help`; its module is only loaded when it runs. */
export interface CommandEntry {
  name: string;
  /** One line for `toil --help` (Toil's docstring where Toil has the command). */
  summary: string;
  /** Left out of `toil --help` (entry points other programs call, e.g. Slurm's power saving). */
  hidden?: boolean;
  load(): Promise<ToilCommand<any, any>>;
}

/**
 * Every `toil` command. Modules are imported lazily so that `toil status --help` never loads
 * a cloud SDK: only the chosen command's module (and what it imports) is read.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'run',
    summary: 'Run a workflow file (TypeScript or JavaScript) against a job store.',
    load: async () => (await import('./run.js')).default,
  },
  {
    name: 'clean',
    summary: 'Delete a job store used by a previous Toil workflow invocation.',
    load: async () => (await import('./clean.js')).default,
  },
  {
    name: 'kill',
    summary: 'Kills rogue toil processes.',
    load: async () => (await import('./kill.js')).default,
  },
  {
    name: 'stats',
    summary: 'Reports statistical data about a given Toil workflow.',
    load: async () => (await import('./stats.js')).default,
  },
  {
    name: 'report',
    summary: 'Writes an HTML report of a workflow run (timeline, job graph, tables, failed logs).',
    load: async () => (await import('./report.js')).default,
  },
  {
    name: 'status',
    summary: 'Tool for reporting on job status.',
    load: async () => (await import('./status.js')).default,
  },
  {
    name: 'launch-cluster',
    summary: 'Launches a toil leader instance with the specified provisioner.',
    load: async () => (await import('./launch-cluster.js')).default,
  },
  {
    name: 'ssh-cluster',
    summary: 'SSH into the leader of the cluster: a shell, or run a command there.',
    load: async () => (await import('./ssh-cluster.js')).default,
  },
  {
    name: 'rsync-cluster',
    summary: "Copy files to or from the cluster's leader with rsync (':' marks the leader's side).",
    load: async () => (await import('./rsync-cluster.js')).default,
  },
  {
    name: 'list-clusters',
    summary: 'Lists the clusters launched by toil, found by their tags.',
    load: async () => (await import('./list-clusters.js')).default,
  },
  {
    name: 'destroy-cluster',
    summary: 'Terminates the specified cluster and associated resources.',
    load: async () => (await import('./destroy-cluster.js')).default,
  },
  {
    name: 'cluster-power',
    summary: "Slurm's power saving on a cluster leader: starts or terminates elastic nodes.",
    hidden: true,
    load: async () => (await import('./cluster-power.js')).default,
  },
];
