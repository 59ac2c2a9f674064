// Patch a node's machine config the way Talos merges patches, look at the diff, then apply.
//
// patchMachineConfig reads the node's current config, merges the patches with Talos's
// strategic-merge rules, validates the result for the node's Talos version, and sends
// ApplyConfiguration only when something changed. A bad patch fails before the node is
// touched, with a typed ConfigPatchError that names the document and path.
//
//   TALOSCONFIG=./talosconfig TALOS_NODE=10.5.0.2 npx tsx examples/patch-apply-config.ts
import { TalosClient } from "@taloskit/client";
import { ConfigPatchError, patchMachineConfig } from "taloskit";

const client = await TalosClient.fromTalosconfig();
const node = process.env.TALOS_NODE ?? client.nodes[0];
const patch = `
machine:
  certSANs:
    - api.cluster.example
`;
try {
  // First a dry run: the node reports what it would do, nothing changes.
  const preview = await patchMachineConfig(client, { node, patches: [patch], dryRun: true });
  console.log(preview.diff.unified);

  // Then for real, refusing anything that would need a reboot.
  const applied = await patchMachineConfig(client, { node, patches: [patch], mode: "no-reboot" });
  console.log(
    `${node}: applied=${applied.applied} mode=${applied.mode} reboot needed=${applied.rebootRequired}`,
  );

  // A patch Talos would refuse (a string where a list belongs) is refused before the node is touched.
  await patchMachineConfig(client, { node, patches: ["machine:\n  certSANs: not-a-list\n"] }).catch(
    (error: unknown) => {
      if (!(error instanceof ConfigPatchError)) throw error;
      console.log(`refused (${error.code}): ${error.message}`);
    },
  );
} finally {
  client.close();
}
