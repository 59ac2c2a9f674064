// `taloskit sim`: a simulated Talos cluster and Image Factory on loopback,
// with a talosconfig to use them. Needs the optional @taloskit/testing
// package, loaded only when this command runs.
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Command } from "commander";
import { FlagError, quotedFlag } from "../errors.js";
import { type CommandIO, processIO } from "../globals.js";

/** One node of `--nodes`: `role[:version[:profile]]` or `maintenance[:version[:profile]]`. */
export interface SimNodeSpec {
  address: string;
  role?: "controlplane" | "worker";
  maintenance?: boolean;
  version?: string;
  profile?: string;
}

const ROLES = new Map<string, "controlplane" | "worker" | "maintenance">([
  ["cp", "controlplane"],
  ["controlplane", "controlplane"],
  ["worker", "worker"],
  ["w", "worker"],
  ["maintenance", "maintenance"],
  ["m", "maintenance"],
]);

/** Nodes get addresses 10.5.0.2 to 10.5.0.254. */
const MAX_SIM_NODES = 253;

/** Parses `--nodes`, e.g. "cp:v1.14.0:nvidia-hgx-server,worker:v1.13.9:intel-nuc,maintenance". */
export function parseSimNodes(spec: string): SimNodeSpec[] {
  if (typeof spec !== "string") throw new FlagError("--nodes: expected text");
  const parts = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length > MAX_SIM_NODES) throw new FlagError(`--nodes: at most ${MAX_SIM_NODES} nodes`);
  return parts.map((part, i) => {
    const [roleName = "", version, profile] = part.split(":");
    const role = ROLES.get(roleName.toLowerCase());
    if (!role) {
      throw new FlagError(
        `--nodes: ${quotedFlag(roleName)} is not a role (use cp, worker or maintenance)`,
      );
    }
    if (version && !/^v?\d+\.\d+\.\d+/.test(version)) {
      throw new FlagError(`--nodes: ${quotedFlag(version)} is not a Talos version like v1.14.0`);
    }
    const node: SimNodeSpec = { address: `10.5.0.${i + 2}` };
    if (role === "maintenance") node.maintenance = true;
    else node.role = role;
    if (version) node.version = version.startsWith("v") ? version : `v${version}`;
    if (profile) node.profile = profile;
    return node;
  });
}

interface TestingModule {
  startCluster(opts: { nodes: SimNodeSpec[] }): Promise<{
    endpoint: string;
    nodes: { address: string; endpoint: string; maintenanceFingerprint?: string }[];
    talosconfig(opts?: { context?: string }): string;
    close(): Promise<void>;
  }>;
  startFactoryServer?: () => Promise<{ url: string; close(): Promise<void> }>;
}

async function loadTesting(): Promise<TestingModule> {
  const name = "@taloskit/testing";
  try {
    return (await import(name)) as TestingModule;
  } catch (cause) {
    throw new Error(
      "taloskit sim needs the optional package @taloskit/testing: install it next to taloskit",
      { cause },
    );
  }
}

/** The nodes `taloskit sim` runs by default. */
export const DEFAULT_SIM_NODES =
  "cp:v1.14.0:nvidia-hgx-server,worker:v1.13.9:intel-nuc,maintenance:v1.14.0:proxmox-vm";

/** The `sim` command. */
export function simCommand(io: CommandIO = processIO): Command {
  return new Command("sim")
    .description("run a simulated Talos cluster and Image Factory, and write a talosconfig for it")
    .option(
      "--nodes <spec>",
      "nodes as role[:version[:profile]], comma separated",
      DEFAULT_SIM_NODES,
    )
    .option("--talosconfig-out <path>", "where to write the talosconfig", "talosconfig.sim.yaml")
    .option("--once", "start, print, and stop again (for scripts and tests)")
    .action(async (opts: { nodes: string; talosconfigOut: string; once?: boolean }) => {
      const nodes = parseSimNodes(opts.nodes);
      const testing = await loadTesting();
      const sim = await testing.startCluster({ nodes });
      const factory = await testing.startFactoryServer?.().catch(() => undefined);
      const path = resolve(opts.talosconfigOut);
      await writeFile(path, sim.talosconfig({ context: "sim" }), { mode: 0o600 });
      const configured = sim.nodes.filter((n) => !n.maintenanceFingerprint).map((n) => n.address);
      const lines = [
        `simulated cluster: apid endpoint ${sim.endpoint}`,
        ...sim.nodes.map((n) =>
          n.maintenanceFingerprint
            ? `  ${n.address}  maintenance at ${n.endpoint}  fingerprint ${n.maintenanceFingerprint}`
            : `  ${n.address}  via ${sim.endpoint}`,
        ),
        ...(factory ? [`image factory: ${factory.url}`] : []),
        `talosconfig written to ${path}`,
        "",
        "try:",
        `  taloskit --talosconfig ${path} version -n ${configured.join(",")}`,
        `  taloskit get pcidevices --talosconfig ${path} -n ${configured[0] ?? ""}`,
        "",
      ];
      io.stdout(`${lines.join("\n")}\n`);
      const stop = async () => {
        await factory?.close();
        await sim.close();
      };
      if (opts.once) return stop();
      io.stderr("running; press Ctrl-C to stop\n");
      await new Promise<void>((done) => {
        const onSignal = () => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          done();
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      });
      await stop();
    });
}
