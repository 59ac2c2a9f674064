// Fan one call out to many nodes, a few at a time, and handle each node's outcome.
//
// onNodes never throws for a single node: every node gets either a value or a typed
// error (TalosError with a stable `code`), so one unreachable machine does not hide
// the answers of the others.
//
//   TALOSCONFIG=./talosconfig NODES=10.5.0.2,10.5.0.3 npx tsx examples/fan-out.ts
import { TalosClient, TalosError } from "@taloskit/client";

const client = await TalosClient.fromTalosconfig();
const nodes = process.env.NODES?.split(",") ?? client.nodes;
try {
  const results = await client.onNodes(
    nodes,
    (node, signal) => client.at(node).machine.memory({}, { signal, timeoutMs: 5_000 }),
    { concurrency: 8 },
  );
  for (const result of results) {
    if ("error" in result) {
      const code = result.error instanceof TalosError ? result.error.code : "UNKNOWN";
      console.log(`${result.node}: failed (${code}): ${result.error.message}`);
      continue;
    }
    const meminfo = result.value.messages[0]?.meminfo;
    const gib = Number(meminfo?.memtotal ?? 0n) / 1024 / 1024;
    console.log(`${result.node}: ${gib.toFixed(1)} GiB memory`);
  }
} finally {
  client.close();
}
