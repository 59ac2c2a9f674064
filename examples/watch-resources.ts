// Watch a COSI resource type and react to changes, with a deadline.
//
// Types resolve the way talosctl resolves them: "services", "Services.v1alpha1.talos.dev"
// and the aliases from the node's ResourceDefinitions all work. The watch starts with
// the current contents, then follows every change until the signal aborts.
//
//   TALOSCONFIG=./talosconfig TALOS_NODE=10.5.0.2 npx tsx examples/watch-resources.ts
import { TalosClient } from "@taloskit/client";

const client = await TalosClient.fromTalosconfig();
const node = process.env.TALOS_NODE ?? client.nodes[0];
const signal = AbortSignal.timeout(Number(process.env.WATCH_MS ?? 5_000));
try {
  for await (const event of client.resources.watch("services", { node, signal })) {
    const spec = event.resource?.spec as { running?: boolean; healthy?: boolean } | undefined;
    console.log(
      `${event.type} ${event.resource?.metadata.id}: running=${spec?.running} healthy=${spec?.healthy}`,
    );
  }
} catch (error) {
  // The deadline ends the watch; anything else is a real failure.
  if (!signal.aborted) throw error;
} finally {
  client.close();
}
