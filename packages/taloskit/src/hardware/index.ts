export {
  groupBySchematic,
  groupBySchematicId,
  type NodeDrift,
  nodeDrift,
  type SchematicDrift,
  type SchematicGroup,
  type SchematicIdGroup,
  schematicDrift,
} from "./fleet.js";
export {
  ARCHES,
  type Arch,
  CPU_VENDORS,
  type CpuVendor,
  InventoryParseError,
  inventoryFromJson,
  MAX_INVENTORY_TEXT,
  type MachineInventory,
  type MachineInventoryInput,
  MachineInventorySchema,
  type PciDevice,
  PciDeviceSchema,
} from "./inventory.js";
export { describeDevice, evaluate, type MatchResult } from "./match.js";
export {
  type BootAssets,
  DEFAULT_FACTORY,
  HardwareOptionError,
  type HardwarePlan,
  type NvidiaBranch,
  planHardware,
  type ResolutionReason,
  type ResolvedSchematic,
  type ResolveOptions,
} from "./resolve.js";
export {
  DEFAULT_RULES_VERSION,
  defaultRules,
  type HardwareRule,
  type KernelModule,
  type PciCondition,
  parseRules,
  type RuleCondition,
  RuleError,
} from "./rules.js";
export { detectLspciFormat, inventoryFromLspci, parseLspci } from "./sources/lspci.js";
export { inventoryFromNfd, nfdLabels } from "./sources/nfd.js";
export {
  inventoryFromNode,
  inventoryFromNodes,
  type NodeInventoryOptions,
  type NodesInventoryOptions,
  readTalosHardware,
} from "./sources/node.js";
export { inventoryFromSysfs } from "./sources/sysfs.js";
export { inventoryFromTalosResources, type TalosHardwareResources } from "./sources/talos.js";
