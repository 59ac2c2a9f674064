// Upgrades: version paths, single-node upgrades and rolling cluster upgrades.

export {
  type ClusterDiscovery,
  type DiscoveredNode,
  type DiscoverOptions,
  type DiscoverySource,
  discoverCluster,
} from "./discover.js";
export {
  reason as upgradeErrorReason,
  UPGRADE_ERROR_CODES,
  UpgradeError,
  type UpgradeErrorCode,
  type UpgradeErrorOptions,
  type UpgradeStep,
} from "./errors.js";
export { type EtcdSnapshotInfo, verifyEtcdSnapshot } from "./etcd-snapshot.js";
export {
  errorJson,
  eventJson,
  type UpgradeErrorJson,
  type UpgradeEvent,
  type UpgradeEventJson,
  type UpgradeListener,
  type UpgradeMethod,
} from "./events.js";
export {
  type InspectOptions,
  type NodeFacts,
  readBootId,
  readExtensions,
  readMachineStatus,
  readNodeFacts,
  readSchematic,
} from "./inspect.js";
export {
  assemblePlan,
  type FactoryVersions,
  type PlannedNode,
  type PlannedStep,
  type PlannedWave,
  type PlanOptions,
  planNode,
  planUpgrade,
  type SchematicChoice,
  type UpgradePlan,
  wavesOf,
} from "./plan.js";
export {
  type NodeOutcome,
  type RunUpgradeOptions,
  runUpgrade,
  UpgradeRunError,
  type UpgradeSummary,
} from "./rolling.js";
export type { EtcdSnapshotOptions } from "./run-context.js";
export {
  type InstallTarget,
  methodFor,
  type NodeUpgradeResult,
  type NodeUpgradeTimeouts,
  type UpgradeNodeOptions,
  upgradeNode,
} from "./single.js";
export {
  readUpgradeState,
  UPGRADE_STATE_KIND,
  type UpgradeState,
  type UpgradeStateNode,
  type UpgradeStateOptions,
} from "./state-file.js";
export {
  type CatalogVersion,
  checkKubernetes,
  checkTarget,
  type KubernetesCheck,
  type ParsedCatalog,
  parseCatalog,
  TALOS_COMPATIBILITY,
  upgradeableFrom,
  type VersionCatalog,
  versionPath,
} from "./versions.js";
