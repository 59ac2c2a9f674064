// The cluster simulator and an Image Factory in a process of their own, for
// upgrade-rolling.bench.ts: the benchmark then measures the CPU of the SDK's
// process apart from the simulator's. Not a benchmark itself.
//
//   node --conditions=@taloskit/source --import tsx upgrade-sim-child.ts <nodes> <from> <to> <schematic>
//
// Prints one JSON line (UpgradeSimInfo) once it listens, then answers commands
// on stdin, one a line, each with one JSON line: "cpu" this process's CPU time
// in µs ({"user":..,"system":..}), "reset" puts every node back on <from>
// ({}), "behind" counts the nodes not on <to> ({"behind":n}). Exits when stdin
// closes.
import { createInterface } from "node:readline";
import { startCluster, startFactoryServer } from "@taloskit/testing";

/** What the child prints once it listens. */
export interface UpgradeSimInfo {
  endpoint: string;
  ca: string;
  cert: string;
  key: string;
  factoryUrl: string;
  nodes: string[];
}

const [count = "1000", from = "v1.13.3", to = "v1.14.0", schematic = ""] = process.argv.slice(2);
const sim = await startCluster({
  rebootDelayMs: 0,
  nodes: Array.from({ length: Number(count) }, (_, i) => ({
    address: `10.${Math.floor(i / 250)}.0.${(i % 250) + 2}`,
    role: i < 3 ? ("controlplane" as const) : ("worker" as const),
    version: from,
    schematic,
  })),
});
const factory = await startFactoryServer({ versions: [from, to] });
const { ca, cert, key } = sim.clientOptions({ roles: ["os:admin"] });
const info: UpgradeSimInfo = {
  endpoint: sim.endpoint,
  ca,
  cert,
  key,
  factoryUrl: factory.url,
  nodes: sim.nodes.map((n) => n.address),
};
process.stdout.write(`${JSON.stringify(info)}\n`);

const answer = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const command = line.trim();
  if (command === "cpu") answer(process.cpuUsage());
  if (command === "behind")
    answer({ behind: sim.nodes.filter((n) => n.state.version !== to).length });
  if (command === "reset") {
    for (const n of sim.nodes) {
      n.state.version = from;
      n.state.schematic = schematic;
      n.state.images.clear();
      n.state.pendingUpgrade = undefined;
      n.touch();
    }
    answer({});
  }
});
lines.on("close", () => {
  void Promise.all([factory.close(), sim.close()]).finally(() => process.exit(0));
});
