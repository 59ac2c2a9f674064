// Benchmark: the client's CPU per GiB of a server stream, where the server is
// not the bottleneck. MachineService.Read of 1 GiB from the replay server (a
// node:http2 server in a child process writing 64 KiB Data messages encoded
// once), read by
//   (a) taloskit: TalosClient.streams.read() consumed as a byte stream,
//   (b) a plain @grpc/grpc-js generic client (protobuf-es decoding, same mTLS),
//       with its default windows and with them widened to 16 MiB as ours are,
//   (c) raw TLS: node:tls reading the same response body bytes (the ceiling),
// in rounds with the order rotated; then the peak RSS growth of a fresh
// process while taloskit (and, for comparison, grpc-js) reads the 1 GiB.
// Goals: taloskit's client CPU per GiB <= 1.5x raw TLS's; RSS growth < 64 MiB.
//
// Environment: BENCH_READ_MIB (default 1024), BENCH_ROUNDS (default 3).
import { execFileSync } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { MachineService, ReadRequestSchema } from "@taloskit/api/machine";
import { TalosClient } from "@taloskit/client";
import {
  fmt,
  grpcJsClient,
  MiB,
  measureRounds,
  median,
  RssSampler,
  rawTlsRead,
  type ServerCredentials,
  spread,
  startReplayChild,
  verdict,
} from "./helpers.js";
import type { ReplayInfo } from "./replay-child.js";

const SIZE = Number(process.env.BENCH_READ_MIB ?? 1024) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const NODE = "10.5.0.2";

interface Reader {
  read(): Promise<number>;
  close(): void;
}

function taloskitReader(info: ReplayInfo): Reader {
  const client = TalosClient.connect({ endpoints: [info.endpoint], ...info });
  return {
    async read() {
      let bytes = 0;
      for await (const chunk of client.streams.read("/sim/large", { node: NODE })) {
        bytes += chunk.length;
      }
      return bytes;
    },
    close: () => client.close(),
  };
}

function grpcJsReader(info: ReplayInfo, options: grpc.ChannelOptions = {}): Reader {
  const client = grpcJsClient(info.endpoint, info, { read: MachineService.method.read }, options);
  return {
    read() {
      return new Promise<number>((resolve, reject) => {
        const md = new grpc.Metadata();
        md.set("node", NODE);
        const call = client.read(
          create(ReadRequestSchema, { path: "/sim/large" }),
          md,
        ) as grpc.ClientReadableStream<{ bytes: Uint8Array }>;
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
  const info = JSON.parse(process.argv[4] ?? "{}") as ReplayInfo;
  const reader = process.argv[3] === "taloskit" ? taloskitReader(info) : grpcJsReader(info);
  const sampler = new RssSampler(20);
  const bytes = await reader.read();
  const growth = sampler.stop();
  reader.close();
  if (bytes !== SIZE) throw new Error(`read ${bytes} bytes, expected ${SIZE}`);
  process.stdout.write(`${JSON.stringify({ growth })}\n`);
  process.exit(0);
}

function rssGrowth(which: string, info: ServerCredentials): number {
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
  return (JSON.parse(out.trim().split("\n").pop() ?? "{}") as { growth: number }).growth;
}

const server = await startReplayChild({ readBytes: SIZE, delayMs: 0, trickleMs: 0 });
const { info } = server;
const readers = {
  taloskit: taloskitReader(info),
  "grpc-js": grpcJsReader(info),
  "grpc-js 16MiB windows": grpcJsReader(info, { "grpc-node.flow_control_window": 16 * MiB }),
};
const expect = (want: number) => (got: number) => {
  if (got !== want) throw new Error(`read ${got} bytes, expected ${want}`);
};
const cases = [
  ...Object.entries(readers).map(([name, r]) => [name, () => r.read().then(expect(SIZE))] as const),
  ["raw TLS", () => rawTlsRead(info).then(expect(info.rawBytes))] as const,
];
const GiB = SIZE / (1024 * MiB);
try {
  console.log(
    `MachineService.Read of ${SIZE / MiB} MiB over mTLS on loopback, replay server in a child process; raw TLS reads the same ${fmt(info.rawBytes / MiB)} MiB of response body; ${ROUNDS} rounds, order rotated`,
  );
  for (const [, run] of cases) await run(); // warm-up round, not counted
  const results = await measureRounds(
    cases,
    ROUNDS,
    server,
    (name, m) =>
      `${name} ${fmt(SIZE / MiB / (m.wallMs / 1000), 0)} MiB/s (cpu ${fmt(m.cpuMs / 1000, 2)} s, server ${fmt(m.serverCpuMs / 1000, 2)} s)`,
  );
  const cpuPerGiB = (name: string) => (results.get(name) ?? []).map((m) => m.cpuMs / 1000 / GiB);
  for (const [name] of cases) {
    const mibps = (results.get(name) ?? []).map((m) => SIZE / MiB / (m.wallMs / 1000));
    console.log(
      `${name}: client CPU ${spread(cpuPerGiB(name))} s/GiB, ${spread(mibps, 0)} MiB/s, server CPU ${fmt(median((results.get(name) ?? []).map((m) => m.serverCpuMs / 1000 / GiB)), 2)} s/GiB (median (min-max) of ${ROUNDS})`,
    );
  }
  const ratios = (a: string, b: string) => {
    const theirs = cpuPerGiB(b);
    return cpuPerGiB(a).map((v, i) => v / (theirs[i] ?? v));
  };
  const toRaw = ratios("taloskit", "raw TLS");
  console.log(
    `ratio taloskit/raw-TLS client CPU per GiB: ${fmt(median(toRaw), 2)}x (per-round ${spread(toRaw)}); ${verdict(median(toRaw) <= 1.5, "<= 1.5x")}`,
  );
  for (const other of ["grpc-js", "grpc-js 16MiB windows"]) {
    const r = ratios("taloskit", other);
    console.log(
      `ratio taloskit/${other} client CPU per GiB: ${fmt(median(r), 2)}x (per-round ${spread(r)})`,
    );
  }
  const g = ratios("grpc-js 16MiB windows", "raw TLS");
  console.log(
    `ratio grpc-js-16MiB-windows/raw-TLS client CPU per GiB: ${fmt(median(g), 2)}x (for reference)`,
  );
  for (const which of ["taloskit", "grpc-js"]) {
    const peaks: number[] = [];
    for (let i = 0; i < ROUNDS; i++) peaks.push(rssGrowth(which, info) / MiB);
    const goal =
      which === "taloskit" ? `; ${verdict(median(peaks) < 64, "< 64 MiB")}` : " (comparison)";
    console.log(
      `peak RSS growth, ${which}, fresh process reading ${SIZE / MiB} MiB: ${spread(peaks, 1)} MiB${goal}`,
    );
  }
} finally {
  for (const r of Object.values(readers)) r.close();
  await server.close();
}
