// Benchmark: fan-out of MachineService.Version to 200 simulated nodes through one
// endpoint (the simulator's apid-like router, in a child process, routes each call
// by its `node` metadata). Measures, in rounds with the order rotated:
//   - taloskit client.onNodes(...) with a concurrency limit,
//   - taloskit sequential calls (one node after the other),
//   - a plain @grpc/grpc-js generic client doing the same fan-out with the same
//     concurrency (and sequentially),
// and prints wall times, calls per second and their ratios.
//
// Environment: BENCH_NODES (default 200), BENCH_CONCURRENCY (default 16),
// BENCH_ROUNDS (default 5).
import { create } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { MachineService } from "@taloskit/api/machine";
import { TalosClient } from "@taloskit/client";
import { fmt, grpcJsClient, median, ownCpuSeconds, startSimChild } from "./helpers.js";

const NODES = Number(process.env.BENCH_NODES ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** Runs `fn` on every item, at most `limit` at a time (the grpc-js side's own pool). */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const sim = await startSimChild(NODES, 1024);
const { info } = sim;
const nodes = info.nodes.map((n) => n.address);
const client = TalosClient.connect({
  endpoints: [info.endpoint],
  ca: info.ca,
  cert: info.cert,
  key: info.key,
});
const plain = grpcJsClient(info.endpoint, info, { version: MachineService.method.version });
const empty = create(EmptySchema);

function plainVersion(node: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set("node", node);
    plain.version(empty, md, { deadline: Date.now() + 60_000 }, (err: unknown, res: unknown) =>
      err ? reject(err) : resolve(res),
    );
  });
}

function expectVersions(results: unknown[]) {
  if (results.length !== NODES) throw new Error(`got ${results.length} results for ${NODES} nodes`);
}

const cases: [string, () => Promise<void>][] = [
  [
    "taloskit onNodes",
    async () => {
      const results = await client.onNodes(
        nodes,
        (node, signal) => client.at(node).machine.version({}, { signal }),
        { concurrency: CONCURRENCY },
      );
      const failed = results.find((r) => "error" in r);
      if (failed && "error" in failed) throw failed.error;
      expectVersions(results);
    },
  ],
  [
    "grpc-js pool",
    async () => {
      const results: unknown[] = [];
      await pool(nodes, CONCURRENCY, async (node) => results.push(await plainVersion(node)));
      expectVersions(results);
    },
  ],
  [
    "taloskit sequential",
    async () => {
      const results: unknown[] = [];
      for (const node of nodes) results.push(await client.at(node).machine.version({}));
      expectVersions(results);
    },
  ],
  [
    "grpc-js sequential",
    async () => {
      const results: unknown[] = [];
      for (const node of nodes) results.push(await plainVersion(node));
      expectVersions(results);
    },
  ],
];

try {
  console.log(
    `MachineService.Version on ${NODES} nodes through one endpoint (router in a child process), concurrency ${CONCURRENCY}; ${ROUNDS} rounds, order rotated`,
  );
  // Warm-up: connections (client to router, router to every node) and the JIT.
  for (let i = 0; i < 3; i++) for (const [, run] of cases) await run();
  const ms = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  const cpu = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  const simCpu = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const parts: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const entry = cases[(i + round) % cases.length];
      if (!entry) continue;
      const [name, run] = entry;
      const s0 = await sim.cpuSeconds();
      const c0 = ownCpuSeconds();
      const t0 = performance.now();
      await run();
      const elapsed = performance.now() - t0;
      cpu.get(name)?.push(ownCpuSeconds() - c0);
      simCpu.get(name)?.push((await sim.cpuSeconds()) - s0);
      ms.get(name)?.push(elapsed);
      parts.push(`${name} ${fmt(elapsed, 0)} ms`);
    }
    console.log(`  round ${round + 1}: ${parts.join("; ")}`);
  }
  const wall = (n: string) => median(ms.get(n) ?? []);
  const perSecond = (n: string) => (NODES / wall(n)) * 1000;
  for (const [name] of cases) {
    console.log(
      `${name}: ${fmt(wall(name), 0)} ms for ${NODES} nodes, ${fmt(perSecond(name), 0)} calls/s; CPU: client ${fmt(median(cpu.get(name) ?? []) * 1000, 0)} ms, simulator ${fmt(median(simCpu.get(name) ?? []) * 1000, 0)} ms (medians)`,
    );
  }
  console.log(
    `ratio taloskit onNodes/sequential: ${fmt(wall("taloskit sequential") / wall("taloskit onNodes"), 2)}x faster (wall time, concurrency ${CONCURRENCY})`,
  );
  console.log(
    `ratio taloskit/grpc-js fan-out: ${fmt(perSecond("taloskit onNodes") / perSecond("grpc-js pool"), 2)}x calls/s (same concurrency ${CONCURRENCY})`,
  );
  console.log(
    `ratio taloskit/grpc-js sequential: ${fmt(perSecond("taloskit sequential") / perSecond("grpc-js sequential"), 2)}x calls/s`,
  );
} finally {
  client.close();
  plain.close();
  await sim.close();
}
