// Benchmark: the client's CPU per unary call, where the server is not the
// bottleneck. MachineService.Version against the replay server (a node:http2
// server in a child process answering from bytes encoded once, so its CPU per
// call is a fraction of the client's), each call addressed to a node by its
// `node` metadata as through apid:
//   - sequential: one call after the other;
//   - fan-out: the same calls, CONCURRENCY in flight (taloskit's onNodes);
// taloskit's TalosClient beside a plain @grpc/grpc-js generic client (the
// baseline, protobuf-es (de)serialisation, same mTLS), in rounds with the order
// rotated. Goal: taloskit's client CPU per call <= grpc-js's.
//
// Environment: BENCH_CALLS (default 2000), BENCH_CONCURRENCY (default 16),
// BENCH_ROUNDS (default 5).
import {
  fmt,
  grpcJsVersion,
  measureRounds,
  median,
  nodeAddresses,
  pool,
  replayWithClients,
  spread,
  verdict,
} from "./helpers.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const bench = await replayWithClients({ readBytes: 0, delayMs: 0, trickleMs: 0 });
const { server, client, plain } = bench;
const nodes = nodeAddresses(CALLS);

function expectAll(results: unknown[]) {
  if (results.length !== CALLS) throw new Error(`got ${results.length} results for ${CALLS} calls`);
}

const cases = [
  [
    "taloskit sequential",
    async () => {
      const results: unknown[] = [];
      for (const node of nodes) results.push(await client.at(node).machine.version({}));
      expectAll(results);
    },
  ],
  [
    "grpc-js sequential",
    async () => {
      const results: unknown[] = [];
      for (const node of nodes) results.push(await grpcJsVersion(plain, node));
      expectAll(results);
    },
  ],
  [
    "taloskit fan-out",
    async () => {
      const results = await client.onNodes(
        nodes,
        (node, signal) => client.at(node).machine.version({}, { signal }),
        { concurrency: CONCURRENCY },
      );
      const failed = results.find((r) => "error" in r);
      if (failed && "error" in failed) throw failed.error;
      expectAll(results);
    },
  ],
  [
    "grpc-js fan-out",
    async () => {
      const results: unknown[] = [];
      await pool(nodes, CONCURRENCY, async (node) =>
        results.push(await grpcJsVersion(plain, node)),
      );
      expectAll(results);
    },
  ],
] as const;

try {
  console.log(
    `MachineService.Version, ${CALLS} calls to ${CALLS} nodes through one endpoint (replay server in a child process); fan-out ${CONCURRENCY} in flight; ${ROUNDS} rounds, order rotated`,
  );
  // Warm-up: the connections and the JIT.
  for (let i = 0; i < 2; i++) for (const [, run] of cases) await run();
  const results = await measureRounds(cases, ROUNDS, server);
  const perCall = (name: string, k: "cpuMs" | "serverCpuMs" | "wallMs") =>
    (results.get(name) ?? []).map((m) => (m[k] * 1000) / CALLS);
  for (const [name] of cases) {
    console.log(
      `${name}: client CPU ${spread(perCall(name, "cpuMs"), 0)} µs/call, wall ${spread(perCall(name, "wallMs"), 0)} µs/call, server CPU ${fmt(median(perCall(name, "serverCpuMs")), 0)} µs/call (median (min-max) of ${ROUNDS})`,
    );
  }
  for (const mode of ["sequential", "fan-out"]) {
    const ours = perCall(`taloskit ${mode}`, "cpuMs");
    const theirs = perCall(`grpc-js ${mode}`, "cpuMs");
    const ratios = ours.map((v, i) => v / (theirs[i] ?? v));
    const ratio = median(ratios);
    console.log(
      `ratio taloskit/grpc-js client CPU per call (${mode}): ${fmt(ratio, 2)}x (per-round ratios ${spread(ratios)}); ${verdict(ratio <= 1, "<= 1.0x")}`,
    );
  }
} finally {
  await bench.close();
}
