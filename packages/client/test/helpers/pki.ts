// The simulator's Talos-style PKI, from the workspace's @taloskit/testing.
export {
  type CertAndKey,
  createMaintenanceCert,
  createTalosPki,
  type TalosPki,
} from "@taloskit/testing";
