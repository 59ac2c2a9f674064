// The Kubernetes API client: node lookup, Ready waits, cordon and drain.
export { type DrainOptions, KubeClient, type NodeReadyOptions } from "./client.js";
export type { KubeCallOptions, KubeClientOptions } from "./connection.js";
export { KubeApiError, KubernetesError, type KubernetesErrorCode } from "./errors.js";
export { type KubeNode, type KubePod, nodeNotReady } from "./nodes.js";
