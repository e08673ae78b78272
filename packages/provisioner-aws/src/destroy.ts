import {
  CancelSpotInstanceRequestsCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { ToilError, startSpan, type IoHost } from '@toil/core';
import type { Instance } from '@aws-sdk/client-ec2';
import type { NodeCost } from '@toil/batch-system';
import {
  CLUSTER_NAME_TAG,
  countNodeCost,
  countNodeHours,
  type ClusterResource,
  type DestroyReport,
  type NodeHours,
  type NodeLifetime,
} from '@toil/provisioner';
import { awsErrorCode, chunks, retryOn, sleep, toAwsError, type AwsClients } from './aws.js';
import {
  describeInstances,
  findCluster,
  inventoryResources,
  isEmpty,
  type ClusterInventory,
} from './inventory.js';
import type { AwsPrices } from './prices.js';

/** How long destroy keeps retrying one deletion (dependencies, eventual consistency). */
export interface DestroyTiming {
  /** Per deletion and for the wait for terminations, ms (default 300 000, as Toil). */
  timeoutMs: number;
  /** First poll / retry delay, ms (default 1000). */
  pollMs: number;
}

const IAM_POLICY_NAME = 'toil-cluster';

async function ignoreMissing(fn: () => Promise<unknown>, missing: string[], operation: string) {
  try {
    await fn();
  } catch (error) {
    if (!missing.includes(awsErrorCode(error))) throw toAwsError(error, operation);
  }
}

/** Waits until none of the instances is live; one DescribeInstances per 1,000 ids per poll. */
async function waitTerminated(clients: AwsClients, ids: string[], timing: DestroyTiming) {
  const deadline = Date.now() + timing.timeoutMs;
  let delay = timing.pollMs;
  let pending = ids;
  while (pending.length > 0) {
    const still: string[] = [];
    for (const batch of chunks(pending, 1000))
      for (const i of await describeInstances(clients, { InstanceIds: batch }))
        if (i.State?.Name !== 'terminated') still.push(i.InstanceId!);
    pending = still;
    if (pending.length === 0 || Date.now() + delay > deadline) return pending;
    await sleep(delay);
    delay = Math.min(delay * 2, 10_000);
  }
  return pending;
}

/**
 * Deletes a cluster found by tag, in a safe order: spot requests are cancelled (so no new
 * spot instance appears), the instances terminated leader first (batches of at most 1,000
 * ids), then the security groups once nothing uses them (retrying on `DependencyViolation`;
 * a group another group's rules still reference is left and named), then the instance
 * profile and role toil made. It then looks again and throws `DESTROY_INCOMPLETE` listing
 * what remains.
 */
export async function destroyCluster(
  clients: AwsClients,
  host: IoHost,
  clusterName: string,
  options: { dryRun?: boolean; timing?: Partial<DestroyTiming>; prices?: AwsPrices } = {},
): Promise<DestroyReport> {
  const timing: DestroyTiming = { timeoutMs: 300_000, pollMs: 1000, ...options.timing };
  const before = { ...clients.calls };
  const callsSince = () =>
    Object.fromEntries(
      Object.entries(clients.calls)
        .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
  const found = await findCluster(clients, clusterName);
  const planned = inventoryResources(found);
  const base = { clusterName, dryRun: !!options.dryRun };
  if (isEmpty(found))
    return { ...base, notFound: true, deleted: [], remaining: [], apiCalls: callsSince() };
  if (options.dryRun)
    return { ...base, notFound: false, deleted: planned, remaining: [], apiCalls: callsSince() };
  const { nodeHours, cost } = await clusterNodeHours(clients, clusterName, found, options.prices);

  const span = startSpan(host, 'CLUSTER_DESTROY', `Destroying cluster ${clusterName}`, {
    total: planned.length,
    source: 'toil.provisioner.aws',
  });
  const problems: ClusterResource[] = [];
  let done = 0;
  const tick = (message: string) => span.progress((done += 1), message);

  if (found.spotRequests.length > 0) {
    await clients.ec2
      .send(
        new CancelSpotInstanceRequestsCommand({
          SpotInstanceRequestIds: found.spotRequests.map((s) => s.SpotInstanceRequestId!),
        }),
      )
      .catch((e: unknown) => {
        throw toAwsError(e, 'CancelSpotInstanceRequests');
      });
    tick(`Cancelled ${found.spotRequests.length} spot request(s)`);
  }

  const instanceIds = planned.filter((r) => r.kind === 'instance').map((r) => r.id);
  for (const batch of chunks(instanceIds, 1000)) {
    await retryOn(
      ['InvalidInstanceID.NotFound'],
      () => clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: batch })),
      { timeoutMs: timing.timeoutMs, firstDelayMs: timing.pollMs },
    ).catch((e: unknown) => {
      throw toAwsError(e, 'TerminateInstances');
    });
    done += batch.length;
    span.progress(done, `Terminating ${batch.length} instance(s), leader first`);
  }

  let waited = false;
  for (const group of found.securityGroups) {
    const referencing = await clients.ec2
      .send(
        new DescribeSecurityGroupsCommand({
          Filters: [{ Name: 'ip-permission.group-id', Values: [group.GroupId!] }],
        }),
      )
      .catch((e: unknown) => {
        throw toAwsError(e, 'DescribeSecurityGroups');
      });
    const others = (referencing.SecurityGroups ?? [])
      .map((g) => g.GroupId!)
      .filter((id) => id !== group.GroupId);
    if (others.length > 0) {
      problems.push({
        kind: 'security-group',
        id: group.GroupId!,
        detail: `still referenced by the rules of ${others.join(', ')}; remove those rules, then destroy again`,
      });
      continue;
    }
    try {
      await retryOn(
        ['DependencyViolation'],
        async () => {
          try {
            return await clients.ec2.send(
              new DeleteSecurityGroupCommand({ GroupId: group.GroupId }),
            );
          } catch (error) {
            // In use by instances still shutting down: wait for them once, then retry.
            if (
              awsErrorCode(error) === 'DependencyViolation' &&
              !waited &&
              instanceIds.length > 0
            ) {
              waited = true;
              await waitTerminated(clients, instanceIds, timing);
            }
            throw error;
          }
        },
        { timeoutMs: timing.timeoutMs, firstDelayMs: timing.pollMs },
      );
    } catch (error) {
      if (awsErrorCode(error) === 'InvalidGroup.NotFound') continue;
      if (awsErrorCode(error) !== 'DependencyViolation')
        throw toAwsError(error, 'DeleteSecurityGroup');
      problems.push({
        kind: 'security-group',
        id: group.GroupId!,
        detail: `still in use after ${Math.round(timing.timeoutMs / 1000)} s (DependencyViolation)`,
      });
      continue;
    }
    tick(`Deleted security group ${group.GroupId}`);
  }

  await deleteIam(clients, found, timing);
  if (found.instanceProfile || found.role) tick('Deleted the IAM instance profile and role');

  if (instanceIds.length > 0 && !waited) {
    const left = await waitTerminated(clients, instanceIds, timing);
    waited = true;
    if (left.length > 0)
      host.emit({
        code: 'CLUSTER_DESTROY_SLOW',
        level: 'warning',
        message: `${left.length} instance(s) are still shutting down`,
        time: Date.now(),
      });
  }

  const after = await findCluster(clients, clusterName);
  const remaining = mergeProblems(inventoryResources(after), problems);
  const report: DestroyReport = {
    ...base,
    notFound: false,
    deleted: planned.filter((r) => !remaining.some((x) => x.kind === r.kind && x.id === r.id)),
    remaining,
    apiCalls: callsSince(),
    nodeHours,
    ...(cost ? { cost } : {}),
  };
  span.end(
    remaining.length === 0
      ? `Cluster ${clusterName} destroyed`
      : `Cluster ${clusterName}: ${remaining.length} resource(s) remain`,
    { ok: remaining.length === 0 },
  );
  if (remaining.length > 0)
    throw new ToilError(
      'DESTROY_INCOMPLETE',
      `Cluster ${clusterName} is not gone: ${remaining
        .map((r) => `${r.kind} ${r.id}${r.detail ? ` (${r.detail})` : ''}`)
        .join('; ')}.`,
      {
        hint: `Run toil destroy-cluster ${clusterName} again; if the same resources remain, deal with the reason given and retry.`,
        data: { report },
      },
    );
  return report;
}

/** `User initiated (2026-11-30 10:00:00 GMT)`: when EC2 says a terminated instance stopped. */
const TERMINATED_AT = /\((\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) (?:GMT|UTC)\)/;

/**
 * The hours the cluster's instances ran: the live ones until now, and the ones terminated
 * before (a cluster that shrank) that EC2 still lists, until their termination; with
 * `prices`, what they cost (spot instances at the spot price when they started).
 */
async function clusterNodeHours(
  clients: AwsClients,
  clusterName: string,
  found: ClusterInventory,
  prices: AwsPrices | undefined,
): Promise<{ nodeHours: NodeHours; cost?: NodeCost }> {
  const terminated = await describeInstances(clients, {
    Filters: [
      { Name: `tag:${CLUSTER_NAME_TAG}`, Values: [clusterName] },
      { Name: 'instance-state-name', Values: ['terminated'] },
    ],
  });
  const zones: (string | undefined)[] = [];
  const lifetime = (instance: Instance, ended?: number): NodeLifetime => {
    zones.push(instance.Placement?.AvailabilityZone);
    return {
      nodeType: instance.InstanceType ?? 'unknown',
      launched: instance.LaunchTime ? instance.LaunchTime.getTime() / 1000 : 0,
      spot: instance.InstanceLifecycle === 'spot',
      ...(ended === undefined ? {} : { ended }),
    };
  };
  const now = Date.now() / 1000;
  const lifetimes = [
    ...found.instances.map((i) => lifetime(i)),
    ...terminated.flatMap((i) => {
      const at = TERMINATED_AT.exec(i.StateTransitionReason ?? '');
      // Without a termination time its hours are unknown: leave it out rather than guess.
      return at ? [lifetime(i, Date.parse(`${at[1]}T${at[2]}Z`) / 1000)] : [];
    }),
  ];
  const nodeHours = countNodeHours(lifetimes, now);
  if (!prices) return { nodeHours };
  const hourly = await prices.pricesOf(
    lifetimes.map((life, i) => ({
      nodeType: life.nodeType,
      spot: life.spot ?? false,
      launched: life.launched,
      ...(zones[i] ? { zone: zones[i] } : {}),
    })),
  );
  const priced = lifetimes.map((life, i) => ({ ...life, ...hourly[i] }));
  return { nodeHours, cost: countNodeCost(priced, now) };
}

function mergeProblems(found: ClusterResource[], problems: ClusterResource[]): ClusterResource[] {
  return found.map((r) => problems.find((p) => p.kind === r.kind && p.id === r.id) ?? r);
}

async function deleteIam(clients: AwsClients, found: ClusterInventory, timing: DestroyTiming) {
  const { iam } = clients;
  const retry = <T>(fn: () => Promise<T>) =>
    retryOn(['DeleteConflict', 'DeleteConflictException'], fn, {
      timeoutMs: timing.timeoutMs,
      firstDelayMs: timing.pollMs,
    });
  if (found.instanceProfile) {
    const name = found.instanceProfile.name;
    for (const role of found.instanceProfile.roles)
      await ignoreMissing(
        () =>
          iam.send(
            new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: role }),
          ),
        ['NoSuchEntity'],
        'RemoveRoleFromInstanceProfile',
      );
    await ignoreMissing(
      () => retry(() => iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: name }))),
      ['NoSuchEntity'],
      'DeleteInstanceProfile',
    );
  }
  if (found.role) {
    const RoleName = found.role;
    await ignoreMissing(
      () => iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: IAM_POLICY_NAME })),
      ['NoSuchEntity'],
      'DeleteRolePolicy',
    );
    try {
      await iam.send(new DeleteRoleCommand({ RoleName }));
    } catch (error) {
      if (awsErrorCode(error) === 'NoSuchEntity') return;
      if (awsErrorCode(error) !== 'DeleteConflict') throw toAwsError(error, 'DeleteRole');
      // Someone added policies to the role: remove them too, then delete it.
      const inline = await iam.send(new ListRolePoliciesCommand({ RoleName }));
      for (const PolicyName of inline.PolicyNames ?? [])
        await iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName }));
      const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName }));
      for (const p of attached.AttachedPolicies ?? [])
        await iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: p.PolicyArn }));
      await retry(() => iam.send(new DeleteRoleCommand({ RoleName }))).catch((e: unknown) => {
        throw toAwsError(e, 'DeleteRole');
      });
    }
  }
}

export { IAM_POLICY_NAME };
