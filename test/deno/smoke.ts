// Runs under Deno against the built packages, as a Deno user would import them from npm.
// Needs --allow-run=node to start the cluster simulator beside it.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { MachineService, VersionInfoSchema } from "@taloskit/api/machine";
import { TalosClient } from "@taloskit/client";
import { FactoryClient, schematic, schematicId, VANILLA_SCHEMATIC_ID } from "@taloskit/factory";
import { startFactoryServer } from "@taloskit/testing";

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`deno smoke: ${message}`);
}

let passed = 0;

const info = create(VersionInfoSchema, { tag: "v1.14.0", arch: "amd64" });
const decoded = fromBinary(VersionInfoSchema, toBinary(VersionInfoSchema, info));
check(decoded.tag === "v1.14.0" && decoded.arch === "amd64", "VersionInfo did not round-trip");
check(MachineService.typeName === "machine.MachineService", "MachineService descriptor missing");
check(MachineService.method.version.name === "Version", "MachineService.Version missing");
passed++;

// Schematic IDs offline, synchronously, with the portable SHA-256.
check(schematicId({}) === VANILLA_SCHEMATIC_ID, "empty schematic ID");
const ext = schematic().extensions("iscsi-tools", "drbd", "gvisor").build();
check(
  schematicId(ext) === "079113ce0508c2b803971ea6cce43fc95c10eff57a123699b5c76fdc773132ae",
  "extension schematic ID",
);
passed++;

// The factory client against the HTTP simulator, started here on Deno's node:http.
const server = await startFactoryServer({ assetSize: 4096 });
try {
  const client = new FactoryClient({ baseUrl: server.url });
  const created = await client.createSchematic(ext);
  check(created.id === schematicId(ext), "factory ID differs from the offline ID");
  check((await client.versions()).includes("v1.14.0"), "versions list");
  let size = 0;
  await client.download(
    client.assetUrl("kernel", { schematicId: created.id, version: "1.14.0", arch: "amd64" }),
    (chunk) => {
      size += chunk.byteLength;
    },
  );
  check(size === 4096, `downloaded ${size} bytes`);
  passed++;
} finally {
  await server.close();
}
// The Talos client under Deno, over mTLS to a simulated cluster that runs under Node
// (the simulator's gRPC server relies on Node's TLS peer-certificate details).
const child = new Deno.Command("node", {
  args: ["cluster-child.mjs"],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
try {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("deno smoke: the cluster simulator exited before it started");
    line += value;
  }
  const talos = TalosClient.connect(JSON.parse(line));
  const versions = await talos.onNodes(["10.5.0.2", "10.5.0.3"], (node, signal) =>
    talos.at(node).machine.version({}, { signal }),
  );
  for (const result of versions) {
    check(
      "value" in result && result.value.messages[0]?.version?.tag === "v1.14.0",
      `version of ${result.node}`,
    );
  }
  const gpus = await talos.resources.list("pcidevices", { node: "10.5.0.2" });
  check(
    gpus.some((r) => JSON.stringify(r.spec).includes("NVIDIA")),
    "PCI devices of the GPU server",
  );
  let bytes = 0;
  for await (const chunk of talos.streams.dmesg({}, { node: "10.5.0.3" }))
    bytes += chunk.byteLength;
  check(bytes > 0, "dmesg stream");
  talos.close();
  passed++;
} finally {
  await child.stdin.close();
  await child.status;
}

console.log(`deno smoke: ${passed} passed, 0 failed`);
// Deno keeps the process alive for pooled fetch connections to the simulator; the smoke is done.
(globalThis as { Deno?: { exit(code: number): never } }).Deno?.exit(0);
