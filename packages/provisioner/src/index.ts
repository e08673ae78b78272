/**
 * @toil/provisioner: the contract every cloud provisioner implements and the CLI composes.
 *
 * - {@link Provisioner} and the {@link ClusterNode} record; {@link loadProvisioner} is the one
 *   way to get a provisioner by name (`aws` → `@toil/provisioner-aws`, `gce` →
 *   `@toil/provisioner-gce`).
 * - The cluster spec ({@link ClusterSpecSchema}) and the launch options that build it
 *   ({@link launchClusterOptions}, {@link launchSpecFromOptions}).
 * - Bootstrap: stage 1 user data ({@link renderStage1UserData}) and stage 2 over SSH
 *   ({@link runStage2}, the same for every cloud).
 * - Autoscaling: elastic node groups (`-w MIN-MAX`) as Slurm cloud nodes, and the leader's
 *   power-saving programs ({@link runPowerAction}: resume / suspend through `addNodes` /
 *   `terminateNodes`), and their node ledger ({@link LEDGER_PATH}: starts, stops and hourly
 *   prices, which a run reads for the cost accrued).
 * - Parsing with Toil's rules and messages: {@link parseNodeTypes}, {@link parseWorkerCounts},
 *   {@link pairNodeGroups}, {@link checkClusterName}, tags and owner ({@link clusterTags}).
 *
 * @packageDocumentation
 */
import './errors.js';

export { PROVISIONER_ERROR_CODES } from './errors.js';
export { nodeAddress } from './contract.js';
export type {
  AddNodesOptions,
  ClusterNode,
  ClusterResource,
  ClusterSummary,
  DestroyOptions,
  DestroyReport,
  HourlyPrice,
  NodeHours,
  HostKeyFingerprint,
  LaunchResult,
  NodeRole,
  NodeState,
  Provisioner,
  ProvisionerConfig,
  ProvisionerModule,
} from './contract.js';
export {
  PROVISIONER_NAMES,
  PROVISIONER_PACKAGES,
  loadProvisioner,
  provisionerPackage,
  resolveZone,
} from './load.js';
export type { ModuleImporter, ProvisionerName } from './load.js';
export { MAX_CLUSTER_NAME_LENGTH, checkClusterName } from './names.js';
export {
  countNodeCost,
  countNodeHours,
  describeClusterCost,
  describeNodeHours,
} from './node-hours.js';
export type { NodeLifetime } from './node-hours.js';
export {
  formatNodeType,
  pairNodeGroups,
  parseNodeType,
  parseNodeTypes,
  parseWorkerCounts,
} from './node-types.js';
export type {
  ElasticGroup,
  NodeGroups,
  WorkerCount,
  WorkerGroup,
  WorkerNodeType,
} from './node-types.js';
export {
  ClusterSpecSchema,
  ToilPackageSourceSchema,
  isPreemptible,
  parseClusterSpec,
  specInstanceTypes,
} from './spec.js';
export type { ClusterSpec, ClusterSpecInput, ToilPackageSource } from './spec.js';
export {
  CLUSTER_NAME_TAG,
  CREATED_BY_TAG,
  HOST_KEY_TAG_PREFIX,
  NODE_ROLE_TAG,
  SSH_USER_TAG,
  clusterTags,
  parseTagOptions,
  resolveOwner,
  resolveUserTags,
  tagsFromEnvironment,
} from './tags.js';
export { hostKeyTags, hostKeysFromTags } from './host-keys.js';
export {
  clusterNamePositional,
  dryRunOption,
  isCidr,
  launchClusterOptions,
  launchSpecFromOptions,
  provisionerOptions,
  resolveSshKey,
  resolveToilPackage,
} from './options.js';
export type { LaunchClusterArgs } from './options.js';
export {
  HOST_KEY_CONSOLE_PREFIX,
  parseHostKeyFingerprints,
  renderStage1UserData,
} from './bootstrap/stage1.js';
export type { Stage1Input } from './bootstrap/stage1.js';
export { STAGE2_PHASES, joinCloudNodes, runStage2 } from './bootstrap/stage2.js';
export type {
  CloudNodeJoin,
  JoinCloudNodesOptions,
  Stage2Cluster,
  Stage2Connection,
  Stage2Connector,
  Stage2Node,
  Stage2Options,
  Stage2Phase,
  Stage2Report,
  Stage2Target,
} from './bootstrap/stage2.js';
export {
  addNodesStage2,
  joinAddedNodes,
  launchStage2,
  sshStage2Runner,
} from './bootstrap/runner.js';
export type { Stage2RunContext, Stage2Runner } from './bootstrap/runner.js';
export { cloudGroupHostList, renderSlurmConf } from './bootstrap/slurm-conf.js';
export type {
  SlurmCloudGroup,
  SlurmConfInput,
  SlurmNodeLine,
  SlurmPowerSaving,
} from './bootstrap/slurm-conf.js';
export {
  AUTOSCALE_DIR,
  CLOUD_ENV_NAMES,
  POWER_PROGRAMS,
  SLURM_NODE_TAG,
  autoscaleConfigFor,
  elasticGroupConfigs,
  elasticNodeOf,
  elasticPrefix,
  readAutoscaleConfig,
  slurmCloudSettings,
} from './autoscale/config.js';
export type { AutoscaleConfig, ElasticGroupConfig } from './autoscale/config.js';
export {
  POWER_ACTIONS,
  expandHostList,
  leaderPowerContext,
  leaderToilPackage,
  reclaimLostNodes,
  resumeCloudNodes,
  runPowerAction,
  runSlurm,
  suspendCloudNodes,
} from './autoscale/power.js';
export type { PowerAction, PowerContext, PowerReport, SlurmRunner } from './autoscale/power.js';
export {
  LEDGER_PATH,
  appendLedger,
  ledgerCost,
  ledgerLifetimes,
  openStarts,
  readLedger,
} from './autoscale/ledger.js';
export type { LedgerEntry, LedgerStart, LedgerStop } from './autoscale/ledger.js';
export { checkRunScaling } from './autoscale/run-options.js';
export type { RunScalingOptions } from './autoscale/run-options.js';
