// The cluster simulator, loaded from the testing package's source (the
// workspace does not link @taloskit/testing into this package yet).
export { type ClusterSimulator, startCluster } from "../../../testing/src/index.js";
