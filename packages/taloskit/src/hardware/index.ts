export * from "./fleet.js";
export * from "./inventory.js";
export { describeDevice, evaluate, type MatchResult } from "./match.js";
export * from "./resolve.js";
export * from "./rules.js";
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
