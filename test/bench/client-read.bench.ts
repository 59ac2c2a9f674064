// Benchmark: server-streaming throughput of MachineService.Read of a 1 GiB file
// over mTLS on loopback, from the cluster simulator (in a child process, through
// its apid-like router), read by
//   (a) taloskit: TalosClient.streams.read() consumed as a byte stream,
//   (b) a plain @grpc/grpc-js generic client (protobuf-es decoding, same mTLS),
//   (c) raw TLS: a node:tls server writing the same bytes to a TLS client (the ceiling),
// measured in rounds with the order rotated, then the peak RSS growth of a fresh
// process while taloskit (and, for comparison, grpc-js) reads the 1 GiB.
//
// Environment: BENCH_READ_MIB (default 1024), BENCH_ROUNDS (default 3),
// BENCH_DIRECT=1 also measures (a) and (b) straight to the node's own server
// (no router hop, so the client side weighs more in the result).
import { execFileSync } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { MachineService, ReadRequestSchema } from "@taloskit/api/machine";
import { TalosClient } from "@taloskit/client";
import {
  fmt,
  grpcJsClient,
  MiB,
  median,
  ownCpuSeconds,
  RssSampler,
  rawTlsRead,
  type SimChild,
  type SimInfo,
  startSimChild,
} from "./helpers.js";

const SIZE = Number(process.env.BENCH_READ_MIB ?? 1024) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PATH = "/sim/large";

type Reader = (path?: string) => Promise<number>;
/** A small file, to warm up a connection without reading the large one. */
const SMALL = "/proc/sys/kernel/random/boot_id";

function taloskitReader(target: string, info: SimInfo): { read: Reader; close(): void } {
  const client = TalosClient.connect({
    endpoints: [target],
    ca: info.ca,
    cert: info.cert,
    key: info.key,
  });
  const node = info.nodes[0]?.address;
  return {
    async read(path = PATH) {
      let bytes = 0;
      for await (const chunk of client.streams.read(path, { node })) bytes += chunk.length;
      return bytes;
    },
    close: () => client.close(),
  };
}

function grpcJsReader(
  target: string,
  info: SimInfo,
  options: grpc.ChannelOptions = {},
): { read: Reader; close(): void } {
  const client = grpcJsClient(target, info, { read: MachineService.method.read }, options);
  const node = info.nodes[0]?.address ?? "";
  return {
    read(path = PATH) {
      return new Promise<number>((resolve, reject) => {
        const md = new grpc.Metadata();
        md.set("node", node);
        const call = client.read(
          create(ReadRequestSchema, { path }),
          md,
        ) as grpc.ClientReadableStream<{
          bytes: Uint8Array;
        }>;
        let bytes = 0;
        call.on("data", (d: { bytes: Uint8Array }) => {
          bytes += d.bytes.length;
        });
        call.on("error", reject);
        call.on("end", () => resolve(bytes));
      });
    },
    close: () => client.close(),
  };
}

// --- child mode: one read in a fresh process, RSS sampled every 20 ms ---
if (process.argv[2] === "--rss") {
  const which = process.argv[3];
  const info = JSON.parse(process.argv[4] ?? "{}") as SimInfo;
  const reader =
    which === "taloskit" ? taloskitReader(info.endpoint, info) : grpcJsReader(info.endpoint, info);
  // Warm up the connection with a short read; the large read is the first.
  await reader.read(SMALL);
  const sampler = new RssSampler(20);
  const start = performance.now();
  const bytes = await reader.read();
  const seconds = (performance.now() - start) / 1000;
  const growth = sampler.stop();
  reader.close();
  process.stdout.write(`${JSON.stringify({ bytes, seconds, growth })}\n`);
  process.exit(0);
}

interface Sample {
  mibps: number;
  ownCpu: number;
  simCpu: number;
}

async function measure(sim: SimChild, read: () => Promise<number>): Promise<Sample> {
  const cpu0 = ownCpuSeconds();
  const sim0 = await sim.cpuSeconds();
  const start = performance.now();
  const bytes = await read();
  const seconds = (performance.now() - start) / 1000;
  const ownCpu = ownCpuSeconds() - cpu0;
  const simCpu = (await sim.cpuSeconds()) - sim0;
  if (bytes !== SIZE) throw new Error(`read ${bytes} bytes, expected ${SIZE}`);
  return { mibps: bytes / MiB / seconds, ownCpu, simCpu };
}

async function compare(sim: SimChild, label: string, targetOf: (info: SimInfo) => string) {
  const { info } = sim;
  const target = targetOf(info);
  const ts = taloskitReader(target, info);
  const gj = grpcJsReader(target, info);
  // grpc-js as a team would use it (defaults), and with its HTTP/2 windows
  // widened to taloskit's (16 MiB) for reference.
  const tuned = grpcJsReader(target, info, { "grpc-node.flow_control_window": 16 * MiB });
  const contenders: [string, () => Promise<number>][] = [
    ["taloskit", () => ts.read()],
    ["grpc-js", () => gj.read()],
    ["grpc-js 16MiB windows", () => tuned.read()],
    ["raw TLS", () => rawTlsRead(info)],
  ];
  // Warm-up round, not counted.
  for (const [, read] of contenders) await read();
  const results = new Map<string, Sample[]>(contenders.map(([n]) => [n, []]));
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    const got = new Map<string, Sample>();
    for (const entry of order) {
      if (!entry) continue;
      const [name, read] = entry;
      const s = await measure(sim, read);
      got.set(name, s);
      results.get(name)?.push(s);
    }
    const line = contenders
      .map(([n]) => {
        const s = got.get(n);
        return s
          ? `${n} ${fmt(s.mibps, 0)} MiB/s (cpu: client ${fmt(s.ownCpu)} s, sim ${fmt(s.simCpu)} s)`
          : n;
      })
      .join("; ");
    console.log(`  ${label} round ${round + 1}: ${line}`);
    const a = got.get("taloskit")?.mibps ?? 0;
    const b = got.get("grpc-js")?.mibps ?? 1;
    ratios.push(a / b);
  }
  ts.close();
  gj.close();
  tuned.close();
  const med = (n: string, k: keyof Sample) => median((results.get(n) ?? []).map((s) => s[k]));
  const t = med("taloskit", "mibps");
  const g = med("grpc-js", "mibps");
  const r = med("raw TLS", "mibps");
  const w = med("grpc-js 16MiB windows", "mibps");
  console.log(
    `${label}: taloskit ${fmt(t, 0)} MiB/s (median of ${ROUNDS}), client CPU ${fmt(med("taloskit", "ownCpu"), 2)} s/GiB-run`,
  );
  console.log(
    `${label}: grpc-js  ${fmt(g, 0)} MiB/s (median of ${ROUNDS}), client CPU ${fmt(med("grpc-js", "ownCpu"), 2)} s/GiB-run`,
  );
  console.log(
    `${label}: grpc-js with 16 MiB windows ${fmt(w, 0)} MiB/s (median of ${ROUNDS}), client CPU ${fmt(med("grpc-js 16MiB windows", "ownCpu"), 2)} s/GiB-run`,
  );
  console.log(`${label}: raw TLS  ${fmt(r, 0)} MiB/s (median of ${ROUNDS}), the ceiling`);
  console.log(
    `ratio taloskit/grpc-js (${label}): ${fmt(t / g, 2)}x throughput (median of per-round ratios ${fmt(median(ratios), 2)}x; goal >= 1.0)`,
  );
  console.log(`ratio taloskit/grpc-js-16MiB-windows (${label}): ${fmt(t / w, 2)}x throughput`);
  console.log(`ratio taloskit/raw-TLS (${label}): ${fmt(t / r, 2)}x of the ceiling`);
  console.log(`ratio grpc-js/raw-TLS (${label}): ${fmt(g / r, 2)}x of the ceiling`);
}

function rssRun(which: string, info: SimInfo): { bytes: number; seconds: number; growth: number } {
  const out = execFileSync(
    process.execPath,
    [
      "--conditions=@taloskit/source",
      "--import",
      "tsx",
      import.meta.filename,
      "--rss",
      which,
      JSON.stringify(info),
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  return JSON.parse(out.trim().split("\n").pop() ?? "{}");
}

const sim = await startSimChild(1, SIZE);
try {
  console.log(
    `MachineService.Read of ${SIZE / MiB} MiB over mTLS on loopback; simulator in a child process; ${ROUNDS} rounds, order rotated`,
  );
  await compare(sim, "via router", (info) => info.endpoint);
  if (process.env.BENCH_DIRECT === "1") {
    await compare(sim, "direct to node", (info) => info.nodes[0]?.endpoint ?? info.endpoint);
  }
  for (const which of ["taloskit", "grpc-js"]) {
    const peaks: number[] = [];
    for (let i = 0; i < ROUNDS; i++) peaks.push(rssRun(which, sim.info).growth);
    const label = which === "taloskit" ? "taloskit" : "grpc-js (comparison)";
    console.log(
      `peak RSS growth, ${label}, fresh process reading ${SIZE / MiB} MiB: ${fmt(median(peaks) / MiB)} MiB median (runs: ${peaks.map((p) => fmt(p / MiB)).join(", ")} MiB)${which === "taloskit" ? "; goal < 64 MiB" : ""}`,
    );
  }
} finally {
  await sim.close();
}
