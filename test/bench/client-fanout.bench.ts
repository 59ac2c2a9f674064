// Benchmark: fan-out at real latency. 1,000 nodes addressed through one
// endpoint by their `node` metadata, as through a Talos apid; the replay server
// (a node:http2 server in a child process) answers each MachineService.Version
// after 20 ms, as a node behind apid would. Measures, in rounds with the order
// rotated:
//   - taloskit onNodes with CONCURRENCY calls in flight,
//   - taloskit sequential calls (the baseline: one node after the other),
//   - a plain @grpc/grpc-js client with the same pool (for reference),
// with the peak RSS growth of each and the heap retained after each round.
// Goals: onNodes >= 50x faster than sequential, with flat memory (peak RSS
// growth < 64 MiB, and no heap retained from round to round).
//
// Environment: BENCH_NODES (default 1000), BENCH_DELAY_MS (default 20),
// BENCH_CONCURRENCY (default 256), BENCH_ROUNDS (default 3).
import {
  fmt,
  grpcJsVersion,
  MiB,
  measureRounds,
  median,
  nodeAddresses,
  pool,
  RssSampler,
  replayWithClients,
  spread,
  verdict,
} from "./helpers.js";

const NODES = Number(process.env.BENCH_NODES ?? 1000);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const bench = await replayWithClients({ readBytes: 0, delayMs: DELAY_MS, trickleMs: 0 });
const { server, client, plain } = bench;
const nodes = nodeAddresses(NODES);

/** Every node answered, each with its own name. */
function expectAll(hosts: (string | undefined)[]) {
  const wrong = hosts.filter((h, i) => h !== nodes[i]).length;
  if (hosts.length !== NODES || wrong)
    throw new Error(`${wrong} of ${NODES} nodes answered wrongly`);
}
const hostOf = (v: { messages: { metadata?: { hostname: string } }[] }) =>
  v.messages[0]?.metadata?.hostname;

const peakRss = new Map<string, number[]>();
const heapAfter = new Map<string, number[]>();
/** Runs `fn`, keeping its peak RSS growth and the heap it leaves after a GC. */
function withMemory(name: string, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const sampler = new RssSampler(10);
    await fn();
    const growth = sampler.stop();
    globalThis.gc?.();
    peakRss.set(name, [...(peakRss.get(name) ?? []), growth / MiB]);
    heapAfter.set(name, [...(heapAfter.get(name) ?? []), process.memoryUsage().heapUsed / MiB]);
  };
}

const cases = [
  [
    "taloskit onNodes",
    withMemory("taloskit onNodes", async () => {
      const results = await client.onNodes(
        nodes,
        (node, signal) => client.at(node).machine.version({}, { signal }),
        { concurrency: CONCURRENCY },
      );
      expectAll(results.map((r) => ("value" in r ? hostOf(r.value) : undefined)));
    }),
  ],
  [
    "taloskit sequential",
    withMemory("taloskit sequential", async () => {
      const hosts: (string | undefined)[] = [];
      for (const node of nodes) hosts.push(hostOf(await client.at(node).machine.version({})));
      expectAll(hosts);
    }),
  ],
  [
    "grpc-js pool",
    withMemory("grpc-js pool", async () => {
      const hosts: (string | undefined)[] = new Array(NODES);
      await pool(
        Array.from(nodes, (_, i) => i),
        CONCURRENCY,
        async (i) => {
          hosts[i] = hostOf(
            (await grpcJsVersion(plain, nodes[i] ?? "")) as Parameters<typeof hostOf>[0],
          );
        },
      );
      expectAll(hosts);
    }),
  ],
] as const;

try {
  console.log(
    `MachineService.Version on ${NODES} nodes through one endpoint, each answering after ${DELAY_MS} ms (replay server in a child process); onNodes with ${CONCURRENCY} in flight; ${ROUNDS} rounds, order rotated`,
  );
  for (const [, run] of cases) await run(); // warm-up: connection and JIT
  peakRss.clear();
  heapAfter.clear();
  const results = await measureRounds(cases, ROUNDS, server);
  const wall = (name: string) => (results.get(name) ?? []).map((m) => m.wallMs);
  for (const [name] of cases) {
    const cpu = (results.get(name) ?? []).map((m) => (m.cpuMs * 1000) / NODES);
    console.log(
      `${name}: ${spread(wall(name), 0)} ms for ${NODES} nodes, client CPU ${spread(cpu, 0)} µs/call, peak RSS growth ${spread(peakRss.get(name) ?? [], 1)} MiB, heap after GC ${spread(heapAfter.get(name) ?? [], 1)} MiB (median (min-max) of ${ROUNDS})`,
    );
  }
  const seq = wall("taloskit sequential");
  const speedups = wall("taloskit onNodes").map((w, i) => (seq[i] ?? w) / w);
  const speedup = median(speedups);
  console.log(
    `ratio taloskit sequential/onNodes wall time: ${fmt(speedup, 1)}x faster (per-round ${spread(speedups, 1)}); ${verdict(speedup >= 50, ">= 50x")}`,
  );
  const peak = median(peakRss.get("taloskit onNodes") ?? []);
  const heaps = heapAfter.get("taloskit onNodes") ?? [];
  const retained = (heaps[heaps.length - 1] ?? 0) - (heaps[0] ?? 0);
  console.log(
    `memory of onNodes: peak RSS growth ${fmt(peak, 1)} MiB while ${CONCURRENCY} calls are in flight (sequential: ${fmt(median(peakRss.get("taloskit sequential") ?? []), 1)} MiB), heap retained from first to last round ${fmt(retained, 1)} MiB; ${verdict(peak < 64 && retained < 4, "flat (< 64 MiB peak, < 4 MiB retained)")}`,
  );
  const gj = wall("grpc-js pool");
  const vsGrpc = wall("taloskit onNodes").map((w, i) => (gj[i] ?? w) / w);
  console.log(
    `ratio taloskit onNodes/grpc-js pool throughput: ${fmt(median(vsGrpc), 2)}x (reference)`,
  );
} finally {
  await bench.close();
}
