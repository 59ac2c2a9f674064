export {
  type CertAndKey,
  createMaintenanceCert,
  createTalosPki,
  type IssueClientOptions,
  type IssueServerOptions,
  nodeKeyPem,
  spkiFingerprint,
  type TalosPki,
} from "./pki.js";
export {
  type CpuInfo,
  type DiskInfo,
  type HardwareProfile,
  type HardwareProfileName,
  hardwareProfiles,
  type MemoryModuleInfo,
  type PciDeviceInfo,
  type ProcessorInfo,
  type SystemInfo,
} from "./profiles.js";
export {
  type ClusterSimulator,
  type Faults,
  type SimClientConnection,
  type SimClientOptions,
  type SimNode,
  type SimNodeOptions,
  type StartClusterOptions,
  startCluster,
} from "./simulator.js";
export {
  EMPTY_SCHEMATIC_ID,
  type MachineStage,
  parseInstallerImage,
  type SimEtcdMember,
  type SimExtension,
  type SimNodeState,
  type SimService,
} from "./state.js";
export type { SimUpload, SimUploads } from "./uploads.js";
