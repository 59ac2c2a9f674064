// A gRPC server that costs almost nothing per call, in a process of its own, so
// that the client benchmarks measure the client. It speaks gRPC over HTTP/2 and
// mutual TLS with node:http2 directly and answers from response bytes encoded
// once at start with our generated protobuf types:
//   - MachineService.Version: one VersionResponse naming the `node` metadata's
//     host (after `delayMs`, to stand for a node's latency behind apid);
//   - MachineService.Read: `readBytes` bytes as 64 KiB Data messages, written
//     with backpressure;
//   - cosi State.Watch: held open; one event every `trickleMs` goes to the next
//     open watch in turn (events trickling over many quiet watches).
// Beside it, a raw TLS server writes the very bytes of a Read's response body
// to each connection: the ceiling of reading them.
//
//   node --conditions=@taloskit/source --import tsx replay-child.ts '<ReplayOptions JSON>'
//
// Prints one JSON line (ReplayInfo) once it listens, then answers commands on
// stdin, one a line: "cpu" prints this process's CPU time in µs
// ({"user":..,"system":..}), "stats" the calls answered and distinct nodes seen.
// Exits when stdin closes.
import { constants, createSecureServer, type ServerHttp2Stream } from "node:http2";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import { createServer as createTlsServer } from "node:tls";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { DataSchema } from "@taloskit/api/common";
import { ResourceEventSchema, WatchResponseSchema } from "@taloskit/api/cosi";
import { VersionResponseSchema } from "@taloskit/api/machine";
import { createTalosPki, nodeKeyPem } from "@taloskit/testing";

/** What the server is told at start. */
export interface ReplayOptions {
  /** Bytes a Read streams (a multiple of 64 KiB). */
  readBytes: number;
  /** Delay before each Version answer, in ms. */
  delayMs: number;
  /** One watch event every this many ms (0: none). */
  trickleMs: number;
}

/** What the server prints once it listens. */
export interface ReplayInfo {
  endpoint: string;
  rawTls: string;
  ca: string;
  cert: string;
  /** Client key as Talos writes it ("ED25519 PRIVATE KEY"). */
  key: string;
  /** Bytes the raw TLS server writes per connection: a Read's whole response body. */
  rawBytes: number;
}

const CHUNK = 64 * 1024;
const options = JSON.parse(process.argv[2] ?? "{}") as ReplayOptions;

/** A gRPC message with its 5-byte envelope (uncompressed). */
function envelope<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer {
  const body = toBinary(schema, create(schema, init));
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

const dataFrame = envelope(DataSchema, {
  bytes: Uint8Array.from({ length: CHUNK }, (_, i) => i & 0xff),
});
const readFrames = options.readBytes / CHUNK;
const versionFrames = new Map<string, Buffer>();
function versionFrame(node: string): Buffer {
  let frame = versionFrames.get(node);
  if (!frame) {
    frame = envelope(VersionResponseSchema, {
      messages: [
        {
          metadata: { hostname: node },
          version: { tag: "v1.14.0", sha: "0123abcd", goVersion: "go1.25.3", os: "linux" },
          platform: { name: "metal", mode: "metal" },
        },
      ],
    });
    versionFrames.set(node, frame);
  }
  return frame;
}
const watchFrame = envelope(WatchResponseSchema, {
  event: [
    create(ResourceEventSchema, {
      eventType: 1,
      resource: {
        metadata: { namespace: "runtime", type: "Services.v1alpha1.talos.dev", id: "kubelet" },
        spec: { yamlSpec: "running: true\nhealthy: true\n" },
      },
    }),
  ],
});

const pki = await createTalosPki();
const server = pki.issueServer({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
const client = pki.issueClient({ roles: ["os:admin"] });
const tlsOptions = {
  ca: pki.ca.certPem,
  cert: server.certPem,
  key: nodeKeyPem(server.keyPem),
  requestCert: true,
  rejectUnauthorized: true,
};

let calls = 0;
const nodes = new Set<string>();
const watches = new Set<ServerHttp2Stream>();

const OK = { "grpc-status": "0" };
function respond(stream: ServerHttp2Stream): void {
  stream.respond(
    { [constants.HTTP2_HEADER_STATUS]: 200, "content-type": "application/grpc+proto" },
    { waitForTrailers: true },
  );
  stream.on("wantTrailers", () => stream.sendTrailers(OK));
}

/** Writes a Read's response body to `out` as fast as it drains, then ends it. */
function writeReadBody(out: Writable): void {
  let left = readFrames;
  const pump = () => {
    while (left > 0) {
      left--;
      if (!out.write(dataFrame)) {
        out.once("drain", pump);
        return;
      }
    }
    out.end();
  };
  pump();
}

const h2 = createSecureServer({ ...tlsOptions, settings: { maxConcurrentStreams: 1 << 20 } });
// As grpc-go (Talos's apid) does: small frames leave at once, not after the peer's delayed ACK.
h2.on("secureConnection", (socket) => socket.setNoDelay(true));
h2.on("stream", (stream, headers) => {
  calls++;
  stream.on("error", () => {});
  stream.resume(); // the request body is not needed
  const node = headers.node;
  if (typeof node === "string") nodes.add(node);
  switch (headers[constants.HTTP2_HEADER_PATH]) {
    case "/machine.MachineService/Version": {
      const answer = () => {
        if (stream.destroyed) return;
        respond(stream);
        stream.end(versionFrame(typeof node === "string" ? node : "localhost"));
      };
      if (options.delayMs > 0) setTimeout(answer, options.delayMs);
      else answer();
      return;
    }
    case "/machine.MachineService/Read":
      respond(stream);
      writeReadBody(stream);
      return;
    case "/cosi.resource.State/Watch":
      respond(stream);
      watches.add(stream);
      stream.on("close", () => watches.delete(stream));
      return;
    default:
      stream.respond({
        [constants.HTTP2_HEADER_STATUS]: 200,
        "content-type": "application/grpc+proto",
        "grpc-status": "12",
      });
      stream.end();
  }
});
await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));

// The next open watch in turn gets one event.
let turn: Iterator<ServerHttp2Stream> = watches.values();
const trickle =
  options.trickleMs > 0
    ? setInterval(() => {
        if (!watches.size) return;
        let next = turn.next();
        if (next.done) {
          turn = watches.values();
          next = turn.next();
        }
        if (!next.done) next.value.write(watchFrame);
      }, options.trickleMs)
    : undefined;

const rawBytes = readFrames * dataFrame.length;
const raw = createTlsServer(tlsOptions, (socket) => {
  socket.on("error", () => {});
  socket.setNoDelay(true);
  writeReadBody(socket);
});
await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));

const portOf = (s: { address(): unknown }) => (s.address() as { port: number }).port;
const info: ReplayInfo = {
  endpoint: `127.0.0.1:${portOf(h2)}`,
  rawTls: `127.0.0.1:${portOf(raw)}`,
  ca: pki.ca.certPem,
  cert: client.certPem,
  key: client.keyPem,
  rawBytes,
};
process.stdout.write(`${JSON.stringify(info)}\n`);

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const command = line.trim();
  if (command === "cpu") process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`);
  if (command === "stats") {
    process.stdout.write(
      `${JSON.stringify({ calls, nodes: nodes.size, watches: watches.size })}\n`,
    );
  }
});
lines.on("close", () => {
  if (trickle) clearInterval(trickle);
  for (const s of watches) s.close();
  raw.close();
  h2.close();
  process.exit(0);
});
