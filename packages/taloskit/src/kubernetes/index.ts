// The Kubernetes API client: nodes (readiness and discovery), Ready waits,
// cordon, drain under disruption budgets.
export type { KubeDisruptionBudget, LabelSelector } from "./budgets.js";
export {
  type DrainOptions,
  type DrainResult,
  KubeClient,
  type NodeReadyOptions,
} from "./client.js";
export type { KubeCallOptions, KubeClientOptions } from "./connection.js";
export {
  type BlockedPod,
  DrainTimeoutError,
  KubeApiError,
  KubernetesError,
  type KubernetesErrorCode,
} from "./errors.js";
export { type KubeNode, type KubePod, nodeNotReady } from "./nodes.js";
