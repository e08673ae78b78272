import { ToilError, type IoHost } from '@toil/core';
import '../errors.js';
import type { AddNodesOptions, ClusterNode } from '../contract.js';
import type { ClusterSpec, ToilPackageSource } from '../spec.js';
import { runStage2, type Stage2Cluster, type Stage2Connector } from './stage2.js';

/** What a provisioner passes to a {@link Stage2Runner} besides the cluster. */
export interface Stage2RunContext {
  /** Where the nodes get this CLI from. */
  toilPackage: ToilPackageSource;
  /** The launcher's private key (`--sshKey`); else the agent or `~/.ssh`. */
  sshPrivateKeyPath?: string;
  /** How long each phase may take on a node, ms. */
  timeoutMs: number;
}

/**
 * Runs stage 2 of the bootstrap on a cluster's nodes, which run and have their host keys
 * pinned. Provisioners take one as an option, so tests can stop before stage 2 or watch it.
 */
export type Stage2Runner = (cluster: Stage2Cluster, context: Stage2RunContext) => Promise<void>;

/**
 * Stage 2 as every provisioner runs it unless told otherwise: {@link runStage2} with the
 * connector `connectorFor` makes for the launcher's key (`nodeConnector` of
 * `@toil/cluster-ssh`, loaded by the provisioner only when stage 2 runs, so listing or
 * destroying clusters loads no SSH library).
 */
export function sshStage2Runner(
  host: IoHost,
  connectorFor: (credentials: { privateKeyPath?: string }) => Promise<Stage2Connector>,
): Stage2Runner {
  return async (cluster, context) => {
    const connect = await connectorFor(
      context.sshPrivateKeyPath ? { privateKeyPath: context.sshPrivateKeyPath } : {},
    );
    await runStage2(cluster, {
      host,
      toilPackage: context.toilPackage,
      phaseTimeoutMs: context.timeoutMs,
      connect,
    });
  };
}

/** The stage 2 context of a launch, or `undefined` with `bootstrap: 'none'`. */
export function launchStage2(spec: ClusterSpec): Stage2RunContext | undefined {
  if (spec.bootstrap === 'none') return undefined;
  return {
    toilPackage: spec.toilPackage,
    timeoutMs: spec.phaseTimeoutSeconds * 1000,
    ...(spec.sshPrivateKeyPath ? { sshPrivateKeyPath: spec.sshPrivateKeyPath } : {}),
  };
}

/**
 * The stage 2 context of an `addNodes` call, or `undefined` with `bootstrap: 'none'`.
 *
 * @throws ToilError `INVALID_ARGUMENT` when stage 2 is asked for without `toilPackage`.
 */
export function addNodesStage2(options: AddNodesOptions): Stage2RunContext | undefined {
  if ((options.bootstrap ?? 'full') !== 'full') return undefined;
  if (!options.toilPackage)
    throw new ToilError(
      'INVALID_ARGUMENT',
      'Adding nodes with bootstrap stage 2 needs options.toilPackage (where the nodes get toil from).',
      { hint: "Pass toilPackage (e.g. { kind: 'registry', version }), or bootstrap: 'none'." },
    );
  return {
    toilPackage: options.toilPackage,
    timeoutMs: (options.phaseTimeoutSeconds ?? 600) * 1000,
    ...(options.sshPrivateKeyPath ? { sshPrivateKeyPath: options.sshPrivateKeyPath } : {}),
  };
}

/**
 * Brings nodes added to a running cluster into its Slurm: stage 2 on the leader, the
 * cluster's other running workers (their slurm.conf gains the new nodes) and the new ones.
 */
export async function joinAddedNodes(
  stage2: Stage2Runner,
  context: Stage2RunContext,
  cluster: { clusterName: string; leader: ClusterNode; nodes: readonly ClusterNode[] },
  added: readonly ClusterNode[],
): Promise<void> {
  const newIds = new Set(added.map((n) => n.id));
  const others = cluster.nodes.filter(
    (n) => n.role === 'worker' && n.state === 'running' && !newIds.has(n.id),
  );
  await stage2(
    { clusterName: cluster.clusterName, leader: cluster.leader, workers: [...others, ...added] },
    context,
  );
}
