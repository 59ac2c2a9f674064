// Talos cluster simulator, PKI and hardware profiles.
export * from "./cluster/index.js";
// Image Factory simulator (msw handlers and a node:http server).
export * from "./factory/index.js";
// Kubernetes API simulator (nodes, pods, cordon, evictions) over HTTPS.
export * from "./kubernetes/index.js";
