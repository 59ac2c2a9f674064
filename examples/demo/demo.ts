// The taloskit demo: a mixed bare-metal cluster, simulated on loopback, taken from
// "what is in these machines?" to "every node runs the image it needs, upgraded".
// Everything goes over real gRPC with mutual TLS and real HTTP, as against real nodes.
import { stripVTControlCharacters } from "node:util";
import { TalosClient } from "@taloskit/client";
import { FactoryClient } from "@taloskit/factory";
import { type ClusterSimulator, startCluster, startFactoryServer } from "@taloskit/testing";
import {
  groupBySchematic,
  type HardwarePlan,
  inventoryFromNodes,
  type MachineInventory,
  planHardware,
  planUpgrade,
  runUpgrade,
  type UpgradeEvent,
  validateDocuments,
} from "taloskit";

const TARGET = "v1.14.0";
// 1.14 does not take 1.11 hosts: the plan goes through 1.13 first.
const FROM = "v1.11.5";

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const cyan = paint("36");
const started = performance.now();
const elapsed = () => dim(`${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(6));

function step(n: number, title: string): void {
  console.log(`\n${bold(cyan(`${n}.`))} ${bold(title)} ${elapsed()}`);
}

function indent(text: string): string {
  return text.trimEnd().replace(/^(?=.)/gm, "   ");
}

/** A plain text table: one header line, then one line per row, columns padded to fit. */
function table<Row>(rows: Row[], columns: [header: string, cell: (row: Row) => unknown][]): string {
  const grid = [
    columns.map(([header]) => header),
    ...rows.map((row) => columns.map(([, cell]) => String(cell(row) ?? ""))),
  ];
  // Colour codes take no room on the screen.
  const visible = (text: string) => stripVTControlCharacters(text).length;
  const widths = columns.map((_, i) => Math.max(...grid.map((line) => visible(line[i] ?? ""))));
  return grid
    .map((line) =>
      line.map((text, i) => text + " ".repeat((widths[i] ?? 0) - visible(text))).join("   "),
    )
    .map((line) => line.trimEnd())
    .join("\n");
}

const shortId = (id: string) => `${id.slice(0, 12)}…`;

/** The milestones of a rolling upgrade, one line each (the CLI shows every step). */
function milestone(e: UpgradeEvent): string | undefined {
  switch (e.type) {
    case "run-start":
      return `upgrading ${e.nodes} node(s) to ${e.target}`;
    case "wave-start":
      return `== ${e.version}: ${e.nodes.join(", ")}`;
    case "batch-start":
      return `-- batch: ${e.nodes.join(", ")}`;
    case "gate":
      return `${e.ok ? "ok  " : "FAIL"} gate ${e.gate}: ${e.detail}`;
    case "node-start":
      return `${e.node}: ${e.from} -> ${e.to} (${e.method}) ${e.image.replace(/[0-9a-f]{64}/, shortId)}`;
    case "node-done":
      return `${e.node}: done, ${e.version} schematic ${shortId(e.schematic)} in ${(e.durationMs / 1000).toFixed(1)}s`;
    case "node-failed":
      return `${e.node}: FAILED at ${e.error.step ?? "?"}: ${e.error.message}`;
    case "run-done":
      return `${e.ok ? "done" : "stopped"}: ${e.upgraded} upgraded, ${e.skipped} skipped in ${(e.durationMs / 1000).toFixed(1)}s`;
    default:
      return undefined;
  }
}

const machines = [
  { address: "10.5.0.2", hostname: "cp-1", role: "controlplane", profile: "proxmox-vm" },
  { address: "10.5.0.3", hostname: "cp-2", role: "controlplane", profile: "proxmox-vm" },
  { address: "10.5.0.4", hostname: "cp-3", role: "controlplane", profile: "intel-nuc" },
  { address: "10.5.0.10", hostname: "gpu-nvidia", role: "worker", profile: "nvidia-hgx-server" },
  { address: "10.5.0.11", hostname: "gpu-amd", role: "worker", profile: "amd-gpu-node" },
  { address: "10.5.0.12", hostname: "nuc-1", role: "worker", profile: "intel-nuc" },
  { address: "10.5.0.13", hostname: "pi-5", role: "worker", profile: "raspberry-pi-5" },
] as const;

/** Display controllers and accelerators by model, most numerous first. */
function describe(machine: MachineInventory): string {
  const counts = new Map<string, number>();
  for (const d of machine.pciDevices.filter((d) => d.classId === "0x03" || d.classId === "0x12")) {
    const name =
      d.product && d.product !== "Device"
        ? d.product
        : `${d.vendor ?? d.vendorId} ${d.productId ?? ""}`.trim();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  return sorted.map(([name, n]) => `${n}x ${name}`).join(", ") || "-";
}

async function main(): Promise<void> {
  console.log(
    bold("taloskit demo: hardware to images to a rolling upgrade, on a simulated cluster"),
  );

  step(1, "Start a simulated cluster of mixed machines and an Image Factory");
  const [cluster, factoryServer] = await Promise.all([
    startCluster({
      nodes: machines.map((m) => ({ ...m, version: FROM })),
      rebootDelayMs: 150,
    }),
    startFactoryServer({ assetSize: 1024 }),
  ]);
  try {
    await run(cluster, factoryServer.url);
  } finally {
    await Promise.all([cluster.close(), factoryServer.close()]);
  }
  console.log(`\n${green("Done")} in ${elapsed().trim()}.`);
}

async function run(cluster: ClusterSimulator, factoryUrl: string): Promise<void> {
  const client = TalosClient.connect(cluster.clientOptions({ roles: ["os:admin"] }));
  const factory = new FactoryClient({ baseUrl: factoryUrl });
  const nodes = machines.map((m) => m.address);
  const hostname = new Map<string, string>(machines.map((m) => [m.address, m.hostname]));
  console.log(indent(`${nodes.length} nodes behind ${cluster.endpoint}, factory at ${factoryUrl}`));

  step(2, "Take inventory over the Talos API (COSI hardware resources)");
  const inventories = await inventoryFromNodes(client, nodes);
  const found: { node: string; machine: MachineInventory }[] = [];
  for (const result of inventories) {
    if ("error" in result) throw result.error;
    found.push({ node: result.node, machine: result.value });
  }
  console.log(
    indent(
      table(found, [
        ["NODE", (r) => hostname.get(r.node)],
        ["SYSTEM", (r) => r.machine.system.productName ?? r.machine.board?.model ?? "(no SMBIOS)"],
        ["CPU", (r) => `${r.machine.cpu.vendor ?? "?"} ${r.machine.cpu.arch ?? ""}`],
        ["PCI", (r) => r.machine.pciDevices.length],
        ["GPUS AND ACCELERATORS", (r) => describe(r.machine)],
      ]),
    ),
  );

  step(3, `Resolve what each machine needs for Talos ${TARGET}`);
  const plans: HardwarePlan[] = found.map(({ node, machine }) =>
    planHardware(
      { ...machine, name: hostname.get(node) },
      { talosVersion: TARGET, factory: factoryUrl },
    ),
  );
  for (const plan of plans) {
    const extensions = plan.schematic.customization.systemExtensions?.officialExtensions ?? [];
    const overlay = plan.schematic.overlay ? ` + overlay ${plan.schematic.overlay.name}` : "";
    console.log(
      indent(`${bold(plan.machine ?? "?")}: ${extensions.join(", ") || "no extensions"}${overlay}`),
    );
    for (const reason of plan.reasons.slice(0, 2))
      console.log(indent(dim(`   because ${reason.summary}`)));
    for (const warning of plan.warnings) console.log(indent(`   warning: ${warning}`));
  }

  step(4, "Group nodes by schematic and create the schematics at the factory");
  const groups = groupBySchematic(plans);
  for (const group of groups) {
    const created = await factory.createSchematic(group.schematic);
    if (created.id !== group.id)
      throw new Error(`factory ID ${created.id} differs from the offline ID ${group.id}`);
    const plan = plans.find((p) => p.id === group.id);
    console.log(
      indent(
        `${bold(group.id.slice(0, 12))} ${dim(`(${group.platform}/${group.arch})`)} ${group.machines.join(", ")}`,
      ),
    );
    console.log(indent(`   installer ${plan?.installer}`));
    console.log(indent(`   boot      ${plan?.assets.iso ?? plan?.assets.diskImage}`));
  }
  console.log(
    indent(
      green(
        `${plans.length} machines need ${groups.length} images; every offline ID matched the factory's`,
      ),
    ),
  );

  step(5, "Build the GPU config patches and validate them for the target version");
  for (const plan of plans.filter((p) => p.patches.length > 0)) {
    const result = validateDocuments(plan.patches, TARGET, { partial: true });
    if (!result.valid)
      throw new Error(`patches of ${plan.machine} do not validate: ${result.issues[0]?.message}`);
    const kinds = plan.patches.map((doc) => String(doc.kind ?? "v1alpha1"));
    console.log(indent(`${bold(plan.machine ?? "?")}: ${kinds.join(", ")} ${green("valid")}`));
    const modules = plan.kernelModules.map((m) => m.name).join(", ");
    if (modules) console.log(indent(dim(`   kernel modules ${modules}`)));
    const sysctls = Object.entries(plan.sysctls)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    if (sysctls) console.log(indent(dim(`   sysctls ${sysctls}`)));
  }

  step(6, `Plan the rolling upgrade ${FROM} -> ${TARGET}, each node onto its own schematic`);
  const schematicOf = new Map(found.map(({ node }, i) => [node, plans[i]?.id ?? ""]));
  const plan = await planUpgrade(client, {
    to: TARGET,
    nodes,
    factory,
    schematic: Object.fromEntries(schematicOf),
  });
  for (const wave of plan.waves) {
    console.log(
      indent(
        `${bold(wave.version)}: control planes ${wave.controlPlanes.map((n) => hostname.get(n)).join(" > ")}, then workers ${wave.workers.map((n) => hostname.get(n)).join(", ")}`,
      ),
    );
  }
  console.log(
    indent(
      dim(
        `Kubernetes ${plan.kubernetes.version} (read from the kubelet) is supported on every step`,
      ),
    ),
  );

  step(7, "Run it: one control plane at a time behind an etcd gate, workers two at a time");
  let lastType = "";
  const summary = await runUpgrade(client, plan, {
    batchSize: 2,
    onEvent: (event) => {
      // Milestones only: every step, status change and repeated gate is left to the CLI.
      const quiet = ["step", "machine-status", "reconnect"].includes(event.type);
      const repeated = event.type === "gate" && event.ok && lastType === "gate";
      if (quiet || repeated) return;
      lastType = event.type;
      const line = milestone(event);
      if (line) console.log(`   ${line}`);
    },
  });

  step(8, "Read every node back: version and schematic, as resolved in step 3");
  const after = await inventoryFromNodes(client, nodes);
  console.log(
    indent(
      table(after, [
        ["NODE", (r) => hostname.get(r.node)],
        ["VERSION", (r) => ("value" in r ? r.value.running?.talosVersion : "error")],
        ["SCHEMATIC", (r) => ("value" in r ? r.value.running?.schematicId?.slice(0, 12) : "")],
        [
          "AS RESOLVED",
          (r) =>
            "value" in r && r.value.running?.schematicId === schematicOf.get(r.node)
              ? green("yes")
              : "no",
        ],
      ]),
    ),
  );
  const upgraded = summary.nodes.filter((n) => n.status === "upgraded").length;
  console.log(
    indent(
      green(
        `${upgraded} of ${nodes.length} nodes upgraded through ${plan.waves.map((w) => w.version).join(" and ")}`,
      ),
    ),
  );
  client.close();
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
