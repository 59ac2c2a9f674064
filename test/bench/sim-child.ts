// A simulated cluster (and a raw TLS server, the throughput ceiling) in a
// process of its own, so that benchmarks measure the client's memory and CPU
// apart from the server's. Started by helpers.ts; not a benchmark itself.
//
//   node --conditions=@taloskit/source --import tsx sim-child.ts <nodes> <largeFileSize>
//
// Prints one JSON line (SimInfo) on stdout once everything listens. Then reads
// commands on stdin, one a line: "cpu" prints this process's CPU time in µs as
// JSON ({"user":..,"system":..}), "mem" its process.memoryUsage(). Exits when
// stdin closes.
import { createInterface } from "node:readline";
import { createServer } from "node:tls";
import { nodeKeyPem, startCluster } from "@taloskit/testing";

const nodeCount = Number(process.argv[2] ?? 1);
const largeFileSize = Number(process.argv[3] ?? 64 * 1024 * 1024);

const sim = await startCluster({
  nodes: Array.from({ length: nodeCount }, (_, i) => ({
    address: `10.5.${Math.floor(i / 250)}.${(i % 250) + 2}`,
  })),
  largeFileSize,
});
const { ca, cert, key } = sim.clientOptions({ roles: ["os:admin"] });

// The ceiling: TLS 1.3 with mutual authentication, writing `largeFileSize`
// bytes per connection in 64 KiB chunks with backpressure, as fast as it can.
const rawCert = sim.pki.issueServer({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
const raw = createServer(
  {
    ca: sim.pki.ca.certPem,
    cert: rawCert.certPem,
    key: nodeKeyPem(rawCert.keyPem),
    requestCert: true,
    rejectUnauthorized: true,
  },
  (socket) => {
    socket.on("error", () => {});
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
    let left = largeFileSize;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          socket.once("drain", pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  },
);
await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
const rawAddress = raw.address();

const info = {
  endpoint: sim.endpoint,
  nodes: sim.nodes.map((n) => ({ address: n.address, endpoint: n.endpoint })),
  ca,
  cert,
  key,
  rawTls: `127.0.0.1:${typeof rawAddress === "object" && rawAddress ? rawAddress.port : 0}`,
  largeFileSize,
};
process.stdout.write(`${JSON.stringify(info)}\n`);

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "cpu") process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`);
  if (line.trim() === "mem") process.stdout.write(`${JSON.stringify(process.memoryUsage())}\n`);
});
lines.on("close", () => {
  raw.close();
  void sim.close().finally(() => process.exit(0));
});
