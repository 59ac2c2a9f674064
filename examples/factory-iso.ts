// Create a schematic at the Image Factory and download the ISO that boots it.
//
// The schematic ID is computed offline first: the factory derives it the same way,
// so the ID can be written into configs and pipelines before the factory is asked.
// Downloads resume from a `.part` file when they are interrupted.
//
//   FACTORY_URL=https://factory.talos.dev npx tsx examples/factory-iso.ts
import { FactoryClient, schematic, schematicId } from "@taloskit/factory";
import { downloadToFile } from "@taloskit/factory/node";

const factory = new FactoryClient({ baseUrl: process.env.FACTORY_URL });
const version = process.env.TALOS_VERSION ?? "v1.14.0";

const wanted = schematic()
  .extensions("iscsi-tools", "util-linux-tools")
  .kernelArgs("console=ttyS0")
  .build();
console.log(`offline ID: ${schematicId(wanted)}`);

// Refuse extensions the target version does not have, before anything is created.
const catalog = await factory.catalog(version);
console.log(`catalog of ${version}: ${catalog.extensions.length} extensions`);

const created = await factory.createSchematic(wanted);
console.log(`factory ID: ${created.id}`);

const target = { schematicId: created.id, version, arch: "amd64" } as const;
console.log(`installer: ${factory.installerImage(target)}`);
const iso = await downloadToFile(
  factory,
  factory.assetUrl("iso", target),
  process.env.ISO_PATH ?? "talos.iso",
  {
    onProgress: (p) =>
      p.total && process.stdout.write(`\r${Math.round((100 * p.received) / p.total)}%`),
  },
);
console.log(`\nsaved ${iso.size} bytes to ${iso.path}`);
