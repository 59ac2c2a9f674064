// Shared pieces of the client benchmarks: servers in child processes, a
// minimal generic @grpc/grpc-js client (the baseline), RSS sampling and stats.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { connect as tlsConnect } from "node:tls";
import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { MachineService } from "@taloskit/api/machine";
import { TalosClient } from "@taloskit/client";
import { nodeKeyPem } from "@taloskit/testing";
import type { ReplayInfo, ReplayOptions } from "./replay-child.js";

export const MiB = 1024 * 1024;

/** A benchmark server in a child process (replay-child.ts, upgrade-sim-child.ts). */
export interface Child<Info> {
  /** What the child printed once it listened. */
  info: Info;
  /** Sends one command line; resolves with the child's JSON answer. */
  ask<T>(command: string): Promise<T>;
  /** CPU time (user + system, in seconds) the child process has used so far. */
  cpuSeconds(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts `script` (in this directory) with `args` in a child process: it prints
 * one JSON line once it listens, then answers one JSON line per command line
 * on stdin ("cpu" at least), and exits when stdin closes.
 */
export async function startChild<Info>(script: string, args: string[]): Promise<Child<Info>> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=@taloskit/source",
      "--import",
      "tsx",
      join(import.meta.dirname, script),
      ...args,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  if (!child.stdout || !child.stdin) throw new Error(`${script} has no stdio`);
  const lines: Interface = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new Error(`${script} exited before it listened`);
  const stdin = child.stdin;
  const ask = async <T>(command: string): Promise<T> => {
    stdin.write(`${command}\n`);
    const next = await iterator.next();
    if (next.done) throw new Error(`${script} exited`);
    return JSON.parse(next.value) as T;
  };
  return {
    info: JSON.parse(first.value) as Info,
    ask,
    async cpuSeconds() {
      const { user, system } = await ask<{ user: number; system: number }>("cpu");
      return (user + system) / 1e6;
    },
    async close() {
      const exited = once(child, "exit");
      stdin.end();
      await exited;
    },
  };
}

/** `count` node addresses as a Talos cluster might have them (10.5.0.2, 10.5.0.3, ...). */
export function nodeAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.5.${Math.floor(i / 250)}.${(i % 250) + 2}`);
}

/**
 * The replay server in a child process, a TalosClient and a plain grpc-js
 * client for MachineService.Version, both connected to it.
 */
export async function replayWithClients(options: ReplayOptions) {
  const server = await startReplayChild(options);
  const { info } = server;
  const client = TalosClient.connect({ endpoints: [info.endpoint], ...info });
  const plain = grpcJsClient(info.endpoint, info, { version: MachineService.method.version });
  return {
    server,
    client,
    plain,
    async close() {
      client.close();
      plain.close();
      await server.close();
    },
  };
}

/** The replay server (replay-child.ts) in a child process. */
export function startReplayChild(options: ReplayOptions): Promise<Child<ReplayInfo>> {
  return startChild<ReplayInfo>("replay-child.ts", [JSON.stringify(options)]);
}

/** What a client needs to reach a benchmark server over mutual TLS. */
export interface ServerCredentials {
  ca: string;
  cert: string;
  /** Client key as Talos writes it ("ED25519 PRIVATE KEY"). */
  key: string;
  rawTls?: string;
}

/** The same mTLS credentials for grpc-js. */
export function grpcJsCredentials(info: ServerCredentials): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(info.ca),
    Buffer.from(nodeKeyPem(info.key)),
    Buffer.from(info.cert),
  );
}

export type GenericClient<K extends string> = grpc.Client &
  Record<K, (...args: unknown[]) => unknown>;

/**
 * A minimal generic grpc-js client for the given methods, (de)serialising with
 * protobuf-es, the way a team would hand-roll one without taloskit.
 */
export function grpcJsClient<K extends string>(
  target: string,
  info: ServerCredentials,
  methods: Record<K, DescMethod>,
  options: grpc.ChannelOptions = {},
): GenericClient<K> {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries<DescMethod>(methods)) {
    def[name] = {
      path: `/${m.parent.typeName}/${m.name}`,
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.input, v)),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.output, v)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
    } as grpc.MethodDefinition<unknown, unknown>;
  }
  const Ctor = grpc.makeGenericClientConstructor(def as grpc.ServiceDefinition, "bench");
  return new Ctor(target, grpcJsCredentials(info), {
    "grpc.max_receive_message_length": 32 * MiB,
    // The simulator's certificates also name localhost; TLS must not be sent an IP as server name.
    "grpc.ssl_target_name_override": "localhost",
    ...options,
  }) as unknown as GenericClient<K>;
}

/** Reads the raw TLS server to its end with the same client certificate; returns bytes read. */
export function rawTlsRead(info: ServerCredentials): Promise<number> {
  const [host, port] = (info.rawTls ?? "").split(":");
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const socket = tlsConnect({
      host,
      port: Number(port),
      ca: info.ca,
      cert: info.cert,
      key: nodeKeyPem(info.key),
    });
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on("end", () => resolve(bytes));
    socket.on("error", reject);
  });
}

/** Samples process RSS every `everyMs` and keeps the peak. */
export class RssSampler {
  readonly baseline: number;
  private peak: number;
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 20) {
    this.baseline = process.memoryUsage.rss();
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }
  /** Stops sampling; returns the peak growth over the baseline in bytes. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak - this.baseline;
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

/** Measured CPU time of this process in seconds (user + system). */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** One measurement of a case: wall time, this process's CPU, the server's CPU. */
export interface Measured {
  wallMs: number;
  cpuMs: number;
  serverCpuMs: number;
}

/**
 * Runs every case once per round, the order rotated each round so that none
 * always runs first on a shared machine, and returns each case's measurements.
 */
export async function measureRounds(
  cases: readonly (readonly [string, () => Promise<unknown>])[],
  rounds: number,
  server: Pick<Child<unknown>, "cpuSeconds">,
  format: (name: string, m: Measured) => string = (name, m) =>
    `${name} ${fmt(m.wallMs, 0)} ms (cpu ${fmt(m.cpuMs, 0)} ms, server ${fmt(m.serverCpuMs, 0)} ms)`,
): Promise<Map<string, Measured[]>> {
  const results = new Map<string, Measured[]>(cases.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const parts: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const entry = cases[(i + round) % cases.length];
      if (!entry) continue;
      const [name, run] = entry;
      const s0 = await server.cpuSeconds();
      const c0 = ownCpuSeconds();
      const t0 = performance.now();
      await run();
      const wallMs = performance.now() - t0;
      const cpuMs = (ownCpuSeconds() - c0) * 1000;
      const serverCpuMs = ((await server.cpuSeconds()) - s0) * 1000;
      const m = { wallMs, cpuMs, serverCpuMs };
      results.get(name)?.push(m);
      parts.push(format(name, m));
    }
    console.log(`  round ${round + 1}: ${parts.join("; ")}`);
  }
  return results;
}

/** "median (min-max)" of values, each formatted with `digits`. */
export function spread(values: number[], digits = 2): string {
  const s = [...values].sort((a, b) => a - b);
  return `${fmt(median(s), digits)} (${fmt(s[0] ?? 0, digits)}-${fmt(s[s.length - 1] ?? 0, digits)})`;
}

/** The verdict on a goal, for the last column of a bench's summary line. */
export function verdict(met: boolean, goal: string): string {
  return `goal ${goal}: ${met ? "PASS" : "FAIL"}`;
}

/** Runs `fn` on every item, at most `limit` at a time (the baselines' own pool). */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const EMPTY = create(EmptySchema);

/** MachineService.Version through a grpc-js generic client, to `node` by its metadata. */
export function grpcJsVersion(
  client: GenericClient<"version">,
  node: string,
  timeoutMs = 60_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set("node", node);
    client.version(EMPTY, md, { deadline: Date.now() + timeoutMs }, (err: unknown, res: unknown) =>
      err ? reject(err) : resolve(res),
    );
  });
}
