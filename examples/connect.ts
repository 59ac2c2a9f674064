// Connect with a talosconfig and ask every node of the context for its Talos version.
//
// The talosconfig is found the way talosctl finds it: $TALOSCONFIG, then
// $TALOS_HOME/config, then ~/.talos/config. Its current context names the endpoints
// (where TLS connections go) and the nodes (which machines run each call).
//
//   TALOSCONFIG=./talosconfig npx tsx examples/connect.ts
import { TalosClient } from "@taloskit/client";

const client = await TalosClient.fromTalosconfig();
try {
  for (const node of client.nodes) {
    const reply = await client.at(node).machine.version({}, { timeoutMs: 10_000 });
    const info = reply.messages[0];
    console.log(
      `${node}: Talos ${info?.version?.tag} (${info?.version?.arch}, ${info?.platform?.name})`,
    );
  }
} finally {
  client.close();
}
