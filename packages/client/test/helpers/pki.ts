// The simulator's Talos-style PKI, loaded from the testing package's source
// (the workspace does not link @taloskit/testing into this package yet).
export {
  type CertAndKey,
  createMaintenanceCert,
  createTalosPki,
  type TalosPki,
} from "../../../testing/src/cluster/pki.js";
