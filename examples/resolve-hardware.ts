// Work out what one machine needs: read its hardware over the Talos API, then resolve
// the Image Factory schematic, installer image, boot media and config patches, with
// the reason for every choice.
//
// The same works before install: connect with TalosClient.maintenance({ endpoint,
// fingerprints }) and pass no node. Offline, inventoryFromLspci(text) does the reading.
//
//   TALOSCONFIG=./talosconfig TALOS_NODE=10.5.0.2 TALOS_VERSION=v1.14.0 npx tsx examples/resolve-hardware.ts
import { TalosClient } from "@taloskit/client";
import { inventoryFromNode, planHardware } from "taloskit";

const client = await TalosClient.fromTalosconfig();
const node = process.env.TALOS_NODE ?? client.nodes[0];
try {
  const machine = await inventoryFromNode(client, node, { timeoutMs: 15_000 });
  const plan = planHardware(machine, {
    talosVersion: process.env.TALOS_VERSION ?? "v1.14.0",
    intents: ["longhorn"], // workloads add their own extensions (iscsi-tools, util-linux-tools)
  });

  console.log(`schematic ${plan.id}`);
  console.log(
    `extensions ${plan.schematic.customization.systemExtensions?.officialExtensions.join(", ")}`,
  );
  console.log(`installer ${plan.installer}`);
  console.log(`iso ${plan.assets.iso}`);
  for (const reason of plan.reasons)
    console.log(`because ${reason.summary} (${reason.because.join("; ")})`);
  for (const warning of plan.warnings) console.log(`warning ${warning}`);
  // Kernel modules and sysctls as documents the target version accepts, ready to patch in.
  for (const doc of plan.patches) console.log(`patch ${doc.kind ?? "v1alpha1"}`);
  if (machine.running?.schematicId && machine.running.schematicId !== plan.id) {
    console.log(`drift: the node runs ${machine.running.schematicId}; upgrade it to ${plan.id}`);
  }
} finally {
  client.close();
}
