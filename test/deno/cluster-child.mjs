// Runs under Node beside the Deno smoke test: starts a simulated cluster from the built
// @taloskit/testing, prints what a client needs as one JSON line, and stops when stdin closes.
import { startCluster } from "@taloskit/testing";

const cluster = await startCluster({
  nodes: [
    { address: "10.5.0.2", profile: "nvidia-hgx-server" },
    { address: "10.5.0.3", role: "worker", profile: "intel-nuc" },
  ],
});
const admin = cluster.pki.issueClient({ roles: ["os:admin"] });
process.stdout.write(
  `${JSON.stringify({ endpoint: cluster.endpoint, ca: cluster.pki.ca.certPem, cert: admin.certPem, key: admin.keyPem })}\n`,
);
process.stdin.resume();
process.stdin.on("end", () => cluster.close().then(() => process.exit(0)));
