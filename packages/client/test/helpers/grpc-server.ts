// A minimal standard gRPC server over node:http2 + TLS, written for these
// tests: it frames protobuf messages by hand, so the client is tested against
// plain gRPC, not against any library's server quirks.
import { once } from "node:events";
import {
  createSecureServer,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
} from "node:http2";
import type { AddressInfo } from "node:net";

export type Reply =
  | { messages: Uint8Array[]; delayMs?: number }
  | { status: number; message: string };

export type Handler = (body: Uint8Array[], headers: IncomingHttpHeaders) => Reply | Promise<Reply>;

export interface TestServer {
  endpoint: string;
  port: number;
  server: Http2SecureServer;
  /**
   * Headers of every request received, in order; `rawHeaders` as they came on
   * the wire (name, value, name, value...), repeated names not joined.
   */
  requests: { path: string; headers: IncomingHttpHeaders; rawHeaders: string[] }[];
  close(): Promise<void>;
}

function frame(msg: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

function unframe(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off + 5 <= buf.length) {
    const len = buf.readUInt32BE(off + 1);
    out.push(buf.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  return out;
}

export async function startGrpcServer(opts: {
  cert: string;
  key: string;
  ca?: string;
  requestCert?: boolean;
  port?: number;
  handlers: Record<string, Handler>;
}): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  const server = createSecureServer({
    cert: opts.cert,
    key: opts.key,
    ca: opts.ca,
    requestCert: opts.requestCert ?? Boolean(opts.ca),
    rejectUnauthorized: opts.requestCert ?? Boolean(opts.ca),
    allowHTTP1: false,
  });
  server.on("stream", (stream, headers, ...rest: unknown[]) => {
    const path = String(headers[":path"]);
    // node:http2 passes the raw header list after the flags.
    const rawHeaders = Array.isArray(rest[1]) ? rest[1].map(String) : [];
    requests.push({ path, headers, rawHeaders });
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", async () => {
      const handler = opts.handlers[path];
      let reply: Reply;
      try {
        reply = handler
          ? await handler(unframe(Buffer.concat(chunks)), headers)
          : { status: 12, message: `unknown method ${path}` };
      } catch (error) {
        reply = { status: 13, message: String(error) };
      }
      if (stream.destroyed) return;
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => {
        if ("status" in reply) {
          stream.sendTrailers({
            "grpc-status": String(reply.status),
            "grpc-message": encodeURIComponent(reply.message),
          });
        } else {
          stream.sendTrailers({ "grpc-status": "0" });
        }
      });
      if ("messages" in reply) {
        for (const m of reply.messages) {
          if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
          if (!stream.write(frame(m))) await once(stream, "drain");
        }
      }
      stream.end();
    });
  });
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("sessionError", () => {});
  server.listen(opts.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Drop open sessions so that close() does not wait for idle clients.
        for (const s of sessions) s.destroy();
      }),
  };
}
