// Shared pieces of the client benchmarks: the simulator in a child process, a
// minimal generic @grpc/grpc-js client (the baseline), RSS sampling and stats.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { connect as tlsConnect } from "node:tls";
import {
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { nodeKeyPem } from "@taloskit/testing";

export const MiB = 1024 * 1024;

/** What sim-child.ts prints once it listens. */
export interface SimInfo {
  /** The router (apid-like endpoint), `127.0.0.1:<port>`. */
  endpoint: string;
  nodes: { address: string; endpoint: string }[];
  ca: string;
  cert: string;
  /** Client key as Talos writes it ("ED25519 PRIVATE KEY"). */
  key: string;
  /** The raw TLS server that writes `largeFileSize` bytes per connection. */
  rawTls: string;
  largeFileSize: number;
}

/** A simulator running in a child process. */
export interface SimChild {
  info: SimInfo;
  /** CPU time (user + system, in seconds) the simulator process has used so far. */
  cpuSeconds(): Promise<number>;
  close(): Promise<void>;
}

export async function startSimChild(nodes: number, largeFileSize: number): Promise<SimChild> {
  const script = join(import.meta.dirname, "sim-child.ts");
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=@taloskit/source",
      "--import",
      "tsx",
      script,
      String(nodes),
      String(largeFileSize),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  if (!child.stdout || !child.stdin) throw new Error("simulator child has no stdio");
  const lines: Interface = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new Error("the simulator child exited before it listened");
  const info = JSON.parse(first.value) as SimInfo;
  const stdin = child.stdin;
  return {
    info,
    async cpuSeconds() {
      stdin.write("cpu\n");
      const next = await iterator.next();
      if (next.done) throw new Error("the simulator child exited");
      const { user, system } = JSON.parse(next.value) as { user: number; system: number };
      return (user + system) / 1e6;
    },
    async close() {
      const exited = once(child, "exit");
      stdin.end();
      await exited;
    },
  };
}

/** The same mTLS credentials for grpc-js. */
export function grpcJsCredentials(info: SimInfo): grpc.ChannelCredentials {
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
  info: SimInfo,
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
export function rawTlsRead(info: SimInfo): Promise<number> {
  const [host, port] = info.rawTls.split(":");
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
