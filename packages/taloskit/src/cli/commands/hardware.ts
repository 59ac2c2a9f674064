// `taloskit hardware inventory|resolve|drift`: what machines have, the schematic,
// installer, boot media and config patches they need for a Talos version, and
// how live nodes differ from that. The machines come from live nodes (the
// global talosconfig flags, --insecure for maintenance mode) or from files:
// lspci, NFD labels, sysfs listings, JSON.

import { messageOf, parseYaml } from "@taloskit/core";
import { FactoryClient, VANILLA_SCHEMATIC_ID } from "@taloskit/factory";
import { Command, Option } from "commander";
import {
  groupBySchematic,
  groupBySchematicId,
  type NodeDrift,
  nodeDrift,
} from "../../hardware/fleet.js";
import {
  ARCHES,
  type Arch,
  inventoryFromJson,
  type MachineInventory,
} from "../../hardware/inventory.js";
import { describeDevice } from "../../hardware/match.js";
import {
  DEFAULT_FACTORY,
  type HardwarePlan,
  planHardware,
  type ResolvedSchematic,
  type ResolveOptions,
} from "../../hardware/resolve.js";
import { defaultRules, parseRules } from "../../hardware/rules.js";
import { inventoryFromLspci } from "../../hardware/sources/lspci.js";
import { inventoryFromNfd, nfdLabels } from "../../hardware/sources/nfd.js";
import { inventoryFromNode, inventoryFromNodes } from "../../hardware/sources/node.js";
import { inventoryFromSysfs } from "../../hardware/sources/sysfs.js";
import {
  type CommandIO,
  connectTargets,
  type GlobalFlags,
  globalFlags,
  processIO,
  withGlobalFlags,
} from "../globals.js";
import { cannotRead, readBoundedText } from "../input.js";
import { render, renderTable } from "../output.js";

/** Where the command reads and writes (the process by default; tests pass their own). */
export interface HardwareCommandIO extends CommandIO {
  readFile?: (path: string) => string;
  stdin?: () => string;
}

interface SourceFlags {
  fromLspci?: string[];
  fromNfd?: string[];
  fromJson?: string[];
  fromSysfs?: string[];
}

interface ResolveFlags extends SourceFlags {
  talosVersion?: string;
  arch?: Arch;
  platform?: string;
  secureboot?: boolean;
  intent?: string[];
  extension?: string[];
  kernelArg?: string[];
  nvidiaBranch?: "lts" | "production";
  rules?: string;
  factory?: string;
  memoryGib?: string;
}

const repeat = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function withSourceFlags(cmd: Command): Command {
  return withGlobalFlags(cmd)
    .option(
      "--from-lspci <file>",
      "lspci -nn, -nnmm or -vmmnnk output (- for stdin; repeatable)",
      repeat,
    )
    .option(
      "--from-nfd <file>",
      "Node Feature Discovery labels: kubectl get nodes -o json (repeatable)",
      repeat,
    )
    .option("--from-json <file>", "inventories as JSON: one object or a list (repeatable)", repeat)
    .option(
      "--from-sysfs <file>",
      "a sysfs listing (see the docs of inventoryFromSysfs; repeatable)",
      repeat,
    );
}

function reader(io: HardwareCommandIO): (path: string) => string {
  return (path) => {
    if (path === "-") return (io.stdin ?? (() => readBoundedText(0)))();
    try {
      return (io.readFile ?? ((p: string) => readBoundedText(p)))(path);
    } catch (error) {
      throw cannotRead(path, error);
    }
  };
}

const baseName = (path: string) =>
  path === "-" ? "stdin" : (path.split(/[\\/]/).pop() ?? path).replace(/\.[^.]*$/, "");

/** Inventories from the --from-* files; errors name the file. */
function inventoriesFromFiles(
  flags: SourceFlags,
  read: (path: string) => string,
): MachineInventory[] {
  const out: MachineInventory[] = [];
  const each = (
    files: string[] | undefined,
    fn: (text: string, file: string) => MachineInventory[],
  ) => {
    for (const file of files ?? []) {
      const text = read(file);
      try {
        out.push(...fn(text, file));
      } catch (error) {
        throw new Error(`${file}: ${(error as Error).message}`);
      }
    }
  };
  each(flags.fromLspci, (text, file) => [inventoryFromLspci(text, baseName(file))]);
  each(flags.fromSysfs, (text, file) => [inventoryFromSysfs(text, baseName(file))]);
  each(flags.fromNfd, (text) =>
    [...nfdLabels(text)].map(([name, labels]) => inventoryFromNfd(labels, name)),
  );
  each(flags.fromJson, (text, file) => {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error(`json inventory: ${(error as Error).message}`);
    }
    const list = Array.isArray(data) ? data : [data];
    return list.map((item, i) => {
      const inv = inventoryFromJson(item);
      return inv.name
        ? inv
        : { ...inv, name: list.length > 1 ? `${baseName(file)}#${i}` : baseName(file) };
    });
  });
  return out;
}

const hasFiles = (f: SourceFlags) =>
  [f.fromLspci, f.fromNfd, f.fromJson, f.fromSysfs].some((l) => l && l.length > 0);

type Gathered = { value: MachineInventory } | { node: string; error: Error };

/** Inventories from files, or from the target nodes (read at once); node failures come back as errors. */
async function gather(
  flags: GlobalFlags,
  sources: SourceFlags,
  io: HardwareCommandIO,
): Promise<Gathered[]> {
  if (hasFiles(sources)) {
    if (flags.nodes?.length || flags.insecure)
      throw new Error("give either nodes (-n, --insecure) or --from-* files, not both");
    return inventoriesFromFiles(sources, reader(io)).map((value) => ({ value }));
  }
  const targets = await connectTargets(flags, io);
  try {
    const nodes = targets.nodes.filter((n): n is string => n !== undefined);
    if (!flags.insecure && nodes.length === targets.nodes.length) {
      // One client for every configured node: a bounded fan-out.
      const results = await inventoryFromNodes(targets.clientFor(undefined), nodes);
      return results.map((r) => ("error" in r ? r : { value: { ...r.value, name: r.node } }));
    }
    // Maintenance nodes (a client each), or the endpoint itself when no node is configured.
    const results = await targets.each((client, node, signal) =>
      inventoryFromNode(client, client.maintenanceMode ? undefined : node, { signal }),
    );
    // Name maintenance nodes as the user did (-n), not by the endpoint the client resolved.
    return results.map((r) => ("error" in r ? r : { value: { ...r.value, name: r.node } }));
  } finally {
    targets.close();
  }
}

/** Splits results into inventories and failures, writing one line per failure. */
function settle(
  results: Gathered[],
  io: HardwareCommandIO,
): { machines: MachineInventory[]; failed: boolean } {
  const machines: MachineInventory[] = [];
  let failed = false;
  for (const r of results) {
    if ("error" in r) {
      io.stderr(`taloskit: ${r.node}: ${r.error.message.split("\n")[0]}\n`);
      failed = true;
    } else machines.push(r.value);
  }
  return { machines, failed };
}

const mib = (n?: number) =>
  n === undefined ? "" : n >= 1024 ? `${Math.round(n / 1024)} GiB` : `${n} MiB`;
const NOTABLE = new Set(["0x03", "0x12", "0x0b"]);

/** What a node runs now, next to what it should run. */
interface RunningState {
  talosVersion?: string;
  schematicId?: string;
  platform?: string;
  secureBoot?: boolean;
  /** The node runs the resolved schematic already. */
  inSync?: boolean;
}

/** The printed form of one resolved machine: what -o json gives. */
export interface PrintedPlan {
  machine?: string;
  talosVersion: string;
  arch: Arch;
  platform: string;
  secureBoot: boolean;
  /** The schematic in the Image Factory's own schema. */
  schematic: HardwarePlan["schematic"];
  id: string;
  installer?: string;
  assets: HardwarePlan["assets"];
  patches: HardwarePlan["patches"];
  reasons: HardwarePlan["reasons"];
  warnings: string[];
  /** What a live node runs now, when read from one. */
  running?: RunningState;
}

export function printablePlan(plan: HardwarePlan, machine?: MachineInventory): PrintedPlan {
  const out: PrintedPlan = {
    machine: plan.machine,
    talosVersion: plan.talosVersion,
    arch: plan.arch,
    platform: plan.platform,
    secureBoot: plan.secureBoot,
    schematic: plan.schematic,
    id: plan.id,
    installer: plan.installer,
    assets: plan.assets,
    patches: plan.patches,
    reasons: plan.reasons,
    warnings: plan.warnings,
  };
  if (machine?.running) {
    out.running = { ...machine.running };
    if (machine.running.schematicId) out.running.inSync = machine.running.schematicId === plan.id;
  }
  return out;
}

/** Evidence for a table: identical devices counted instead of listed slot by slot. */
function compactEvidence(because: string[]): string {
  const counts = new Map<string, number>();
  for (const fact of because) {
    const key = fact.replace(/^pci \S+ \[/, "pci [");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([fact, n]) => (n > 1 ? `${n}x ${fact}` : fact)).join("; ");
}

function planTable(p: PrintedPlan): string {
  const ext = p.schematic.customization.systemExtensions?.officialExtensions ?? [];
  const rows: { field: string; value: unknown }[] = [
    { field: "MACHINE", value: p.machine ?? "" },
    {
      field: "TALOS",
      value: `${p.talosVersion} ${p.platform}/${p.arch}${p.secureBoot ? " secureboot" : ""}`,
    },
    { field: "SCHEMATIC", value: p.id },
    { field: "EXTENSIONS", value: ext.join(", ") || "(none)" },
  ];
  if (p.schematic.customization.extraKernelArgs?.length)
    rows.push({ field: "KERNEL ARGS", value: p.schematic.customization.extraKernelArgs.join(" ") });
  if (p.schematic.overlay)
    rows.push({
      field: "OVERLAY",
      value: `${p.schematic.overlay.image} ${p.schematic.overlay.name}`,
    });
  if (p.installer) rows.push({ field: "INSTALLER", value: p.installer });
  for (const [kind, url] of Object.entries(p.assets))
    rows.push({ field: kind.toUpperCase(), value: url });
  rows.push({
    field: "PATCHES",
    value: p.patches.length
      ? `${p.patches.length} document(s): ${p.patches.map((d) => (d.kind as string | undefined) ?? "v1alpha1").join(", ")} (-o yaml shows them)`
      : "(none)",
  });
  if (p.running?.schematicId)
    rows.push({
      field: "RUNNING",
      value: `${p.running.schematicId}${p.running.inSync ? " (in sync)" : " (differs)"}`,
    });
  let out = renderTable(rows, [
    { header: "FIELD", value: (r) => r.field },
    { header: "VALUE", value: (r) => r.value },
  ]);
  if (p.reasons.length) {
    out += `\n${renderTable(p.reasons, [
      { header: "RULE", value: (r) => r.rule },
      {
        header: "ADDS",
        value: (r) =>
          [
            ...r.extensions,
            ...r.kernelModules.map((m) => `module ${m}`),
            ...r.sysctls.map((s) => `sysctl ${s}`),
            ...(r.overlay ? [`overlay ${r.overlay}`] : []),
            ...(r.platform ? [`platform ${r.platform}`] : []),
          ].join(", "),
      },
      { header: "BECAUSE", value: (r) => compactEvidence(r.because) },
    ])}`;
  }
  if (p.warnings.length) out += `\nWARNINGS\n${p.warnings.map((w) => `  - ${w}`).join("\n")}\n`;
  return out;
}

function resolveOptions(
  flags: ResolveFlags,
  read: (path: string) => string,
): Omit<ResolveOptions, "talosVersion"> {
  let rules = defaultRules;
  if (flags.rules) {
    const text = read(flags.rules);
    let data: unknown;
    try {
      data = parseYaml(text, { what: flags.rules });
    } catch (error) {
      throw new Error(`${flags.rules}: not YAML or JSON: ${messageOf(error)}`);
    }
    try {
      rules = [...defaultRules, ...parseRules(data)];
    } catch (error) {
      throw new Error(`${flags.rules}: ${(error as Error).message}`);
    }
  }
  let memoryMiB: number | undefined;
  if (flags.memoryGib !== undefined) {
    const gib = Number(flags.memoryGib);
    if (!Number.isInteger(gib) || gib <= 0)
      throw new Error(
        `--memory-gib ${flags.memoryGib}: expected a whole number of GiB such as 128`,
      );
    memoryMiB = gib * 1024;
  }
  return {
    arch: flags.arch,
    platform: flags.platform,
    memoryMiB,
    secureBoot: flags.secureboot,
    nvidiaBranch: flags.nvidiaBranch,
    intents: flags.intent,
    extraExtensions: flags.extension,
    extraKernelArgs: flags.kernelArg,
    rules,
    factory: flags.factory,
  };
}

/** The flags that shape a plan, shared by resolve and drift. */
function withResolveFlags(cmd: Command): Command {
  return cmd
    .option("--talos-version <version>", "target Talos version (default: the version a node runs)")
    .addOption(
      new Option("--arch <arch>", "target arch (default: the machine's)").choices([...ARCHES]),
    )
    .option("--platform <name>", "platform override (metal, aws, vmware, nocloud, ...)")
    .option("--secureboot", "SecureBoot installer and media")
    .option(
      "--intent <name>",
      "a workload the machines serve: longhorn, zfs, drbd, iscsi, ... (repeatable)",
      repeat,
    )
    .option("--extension <name>", "an extra official extension (repeatable)", repeat)
    .option("--kernel-arg <arg>", "an extra kernel argument (repeatable)", repeat)
    .addOption(
      new Option("--nvidia-branch <branch>", "NVIDIA driver branch").choices(["lts", "production"]),
    )
    .option(
      "--memory-gib <n>",
      "the machine's memory when the source does not tell it (lspci): sizes APU GPU memory",
    )
    .option("--rules <file>", "extra rules (YAML or JSON) added to the defaults")
    .option("--factory <url>", "Image Factory for the installer and asset URLs", DEFAULT_FACTORY);
}

/** --factory must be an http(s) URL. */
function checkFactoryFlag(factory: string | undefined): void {
  if (factory && !/^https?:\/\/[^/\s]+/.test(factory))
    throw new Error(
      `--factory ${factory}: expected an http(s) URL such as https://factory.talos.dev`,
    );
}

/** The plan of one machine, for the version given or the one it runs. */
function planFor(
  m: MachineInventory,
  options: Omit<ResolveOptions, "talosVersion">,
  talosVersionFlag: string | undefined,
): HardwarePlan {
  const talosVersion = talosVersionFlag ?? m.running?.talosVersion;
  if (!talosVersion)
    throw new Error(
      `--talos-version is needed: ${m.name ?? m.source} does not say which Talos version it will run`,
    );
  try {
    return planHardware(m, { ...options, talosVersion });
  } catch (error) {
    throw new Error(`${m.name ?? m.source}: ${(error as Error).message}`);
  }
}

/**
 * The content of the schematic a node runs: the vanilla image's is empty; any
 * other is asked of the factory, and is unknown (undefined) when the factory
 * does not know the ID.
 */
async function runningSchematic(
  factory: FactoryClient,
  id: string | undefined,
): Promise<ResolvedSchematic | undefined> {
  if (!id) return undefined;
  if (id === VANILLA_SCHEMATIC_ID) return { customization: {} };
  try {
    return (await factory.getSchematic(id)) as ResolvedSchematic;
  } catch {
    return undefined;
  }
}

const list = (items: string[]) => items.map((e) => e.replace(/^siderolabs\//, "")).join(",");

/** The `hardware` command group. */
export function hardwareCommand(io: HardwareCommandIO = processIO): Command {
  const hardware = new Command("hardware").description(
    "what machines have, and the schematic, installer and patches they need",
  );

  const inventory = withSourceFlags(
    new Command("inventory").description(
      "hardware inventory of nodes or of lspci/NFD/sysfs/JSON files",
    ),
  );
  inventory.action(async () => {
    const flags = globalFlags(inventory);
    const { machines, failed } = settle(
      await gather(flags, inventory.opts() as SourceFlags, io),
      io,
    );
    io.stdout(
      render(flags.output, machines, {
        rows: machines,
        columns: [
          { header: "MACHINE", value: (m) => m.name ?? "" },
          { header: "SOURCE", value: (m) => m.source },
          { header: "ARCH", value: (m) => m.cpu.arch ?? "" },
          { header: "CPU", value: (m) => m.cpu.model ?? m.cpu.vendor ?? "" },
          {
            header: "SYSTEM",
            value: (m) => [m.system.manufacturer, m.system.productName].filter(Boolean).join(" "),
          },
          { header: "MEMORY", value: (m) => mib(m.memoryMiB) },
          { header: "PCI", value: (m) => m.pciDevices.length },
          {
            header: "GPUS/ACCELERATORS",
            value: (m) => {
              const counts = new Map<string, number>();
              for (const d of m.pciDevices.filter((d) => NOTABLE.has(d.classId))) {
                const name = describeDevice({ ...d, slot: undefined }).replace(/^pci /, "");
                counts.set(name, (counts.get(name) ?? 0) + 1);
              }
              return [...counts].map(([n, c]) => (c > 1 ? `${c}x ${n}` : n)).join("; ");
            },
          },
        ],
      }),
    );
    if (failed) process.exitCode = 1;
  });

  /** The flags of a planning command and the machines it plans for (from files only when `files`). */
  const readMachines = async (cmd: Command, files: boolean) => {
    const flags = globalFlags(cmd);
    const opts = cmd.opts() as ResolveFlags;
    checkFactoryFlag(opts.factory);
    const options = resolveOptions(opts, reader(io));
    return { flags, opts, options, ...settle(await gather(flags, files ? opts : {}, io), io) };
  };

  const resolve = withResolveFlags(
    withSourceFlags(
      new Command("resolve").description(
        "the schematic, installer, boot media and config patches the machines need, with reasons",
      ),
    ),
  );
  resolve.action(async () => {
    const { flags, opts, options, machines, failed } = await readMachines(resolve, true);
    const plans = machines.map((m) => ({
      machine: m,
      plan: planFor(m, options, opts.talosVersion),
    }));
    if (plans.length === 1 && !failed) {
      const [{ machine, plan }] = plans as [(typeof plans)[number]];
      const out = printablePlan(plan, machine);
      io.stdout(flags.output === "table" ? planTable(out) : render(flags.output, out));
      return;
    }
    const groups = groupBySchematic(plans.map((p) => p.plan)).map((g) => {
      const first = plans.find(
        (p) => p.plan.id === g.id && p.plan.platform === g.platform && p.plan.arch === g.arch,
      )?.plan;
      return { ...g, installer: first?.installer, assets: first?.assets ?? {} };
    });
    const fleet = {
      groups,
      // One ID may serve several arches: the factory builds the same schematic for each.
      ids: groupBySchematicId(plans.map((p) => p.plan)),
      machines: plans.map((p) => printablePlan(p.plan, p.machine)),
    };
    if (flags.output === "table") {
      io.stdout(
        renderTable(groups, [
          { header: "SCHEMATIC", value: (g) => g.id.slice(0, 12) },
          { header: "PLATFORM", value: (g) => `${g.platform}/${g.arch}` },
          {
            header: "EXTENSIONS",
            value: (g) =>
              (g.schematic.customization.systemExtensions?.officialExtensions ?? [])
                .map((e) => e.replace(/^siderolabs\//, ""))
                .join(",") + (g.schematic.overlay ? ` overlay:${g.schematic.overlay.name}` : ""),
          },
          { header: "MACHINES", value: (g) => g.machines.join(",") },
        ]),
      );
      const shared = fleet.ids.filter((g) => g.arches.length > 1);
      if (shared.length)
        io.stdout(
          `\nSCHEMATIC IDS ACROSS ARCHES\n${shared.map((g) => `  ${g.id.slice(0, 12)} ${g.arches.join("+")}: ${g.machines.join(",")}`).join("\n")}\n`,
        );
      const warned = fleet.machines.filter((m) => m.warnings.length);
      if (warned.length)
        io.stdout(
          `\nWARNINGS\n${warned.flatMap((m) => m.warnings.map((w) => `  - ${m.machine ?? ""}: ${w}`)).join("\n")}\n`,
        );
    } else io.stdout(render(flags.output, fleet));
    if (failed) process.exitCode = 1;
  });

  const drift = withResolveFlags(
    withGlobalFlags(
      new Command("drift").description(
        "how live nodes differ from what their hardware needs (schematic, platform, SecureBoot) and what an upgrade would change; exit code 2 on drift",
      ),
    ),
  );
  drift.action(async () => {
    const { flags, opts, options, machines, failed } = await readMachines(drift, false);
    const factory = new FactoryClient({ baseUrl: opts.factory ?? DEFAULT_FACTORY });
    const plans = machines.map((m) => planFor(m, options, opts.talosVersion));
    const nodes: (NodeDrift & { warnings: string[] })[] = [];
    for (const [i, m] of machines.entries()) {
      const plan = plans[i] as HardwarePlan;
      const running = await runningSchematic(factory, m.running?.schematicId);
      const warnings = [...plan.warnings];
      if (m.running?.schematicId && !running)
        warnings.push(
          `the factory at ${factory.baseUrl} does not know the running schematic ${m.running.schematicId}: only the IDs are compared`,
        );
      nodes.push({ ...nodeDrift(m, plan, running), warnings });
    }
    const out = { nodes, ids: groupBySchematicId(plans) };
    if (flags.output === "table") {
      const wantedOf = (d: NodeDrift) =>
        plans.find((p) => p.id === d.wantedId)?.schematic.customization.systemExtensions
          ?.officialExtensions ?? [];
      const schematicChange = (d: NodeDrift) =>
        d.runningSchematicKnown
          ? [
              d.missing.length ? `+${list(d.missing)}` : "",
              d.extra.length ? `-${list(d.extra)}` : "",
              d.kernelArgs.missing.length ? `+args ${d.kernelArgs.missing.join(" ")}` : "",
              d.kernelArgs.extra.length ? `-args ${d.kernelArgs.extra.join(" ")}` : "",
              d.overlay
                ? `overlay ${d.overlay.running ?? "none"}->${d.overlay.wanted ?? "none"}`
                : "",
            ]
          : [`running schematic unknown; wanted: ${list(wantedOf(d)) || "no extensions"}`];
      const change = (d: NodeDrift) =>
        [
          ...(d.inSync ? [] : schematicChange(d)),
          d.platform.running !== d.platform.wanted
            ? `platform ${d.platform.running ?? "?"}->${d.platform.wanted}`
            : "",
          d.secureBoot.running !== d.secureBoot.wanted
            ? `secureboot ${d.secureBoot.running ?? "?"}->${d.secureBoot.wanted}`
            : "",
        ]
          .filter(Boolean)
          .join(" ");
      io.stdout(
        renderTable(nodes, [
          { header: "NODE", value: (d) => d.machine ?? "" },
          { header: "TALOS", value: (d) => d.talosVersion },
          { header: "RUNNING", value: (d) => d.runningId?.slice(0, 12) ?? "" },
          { header: "WANTED", value: (d) => d.wantedId.slice(0, 12) },
          { header: "DRIFT", value: (d) => (d.drift ? "yes" : "no") },
          {
            header: "UPGRADE WOULD CHANGE",
            value: (d) => (d.drift ? change(d) || "schematic ID" : ""),
          },
          { header: "INSTALLER", value: (d) => (d.drift ? (d.installer ?? "") : "") },
        ]),
      );
      const warned = nodes.filter((n) => n.warnings.length);
      if (warned.length)
        io.stdout(
          `\nWARNINGS\n${warned.flatMap((n) => n.warnings.map((w) => `  - ${n.machine ?? ""}: ${w}`)).join("\n")}\n`,
        );
    } else io.stdout(render(flags.output, out));
    if (failed) process.exitCode = 1;
    else if (nodes.some((n) => n.drift)) process.exitCode = 2;
  });

  hardware.addCommand(inventory);
  hardware.addCommand(resolve);
  hardware.addCommand(drift);
  return hardware;
}
