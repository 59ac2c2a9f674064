// Runs under Node beside the Deno smoke test: starts a simulated cluster from the built
// @taloskit/testing, prints what a client needs (the options TalosClient.connect takes) as one
// JSON line, and stops when stdin closes.
import { startCluster } from "@taloskit/testing";

const cluster = await startCluster({
  nodes: [
    { address: "10.5.0.2", profile: "nvidia-hgx-server" },
    { address: "10.5.0.3", role: "worker", profile: "intel-nuc" },
  ],
});
process.stdout.write(`${JSON.stringify(cluster.clientOptions({ roles: ["os:admin"] }))}\n`);
process.stdin.resume();
process.stdin.on("end", () => cluster.close().then(() => process.exit(0)));
