// The simulator's Talos-style PKI, from the workspace's @taloskit/testing.
export { type CertAndKey, createTalosPki, type TalosPki } from "@taloskit/testing";
// The maintenance-mode certificate is not part of @taloskit/testing's public
// API (its simulator makes them for maintenance nodes), so it comes from source.
export { createMaintenanceCert } from "../../../testing/src/cluster/pki.js";
