// gRPC message framing as the client reads it (grpc-protocol.ts): a response
// body is a run of messages, each a flags byte, a 32-bit big-endian length
// and the bytes (the gRPC over HTTP/2 wire format, "Length-Prefixed-Message"),
// cut into chunks wherever the sender's frames and the sockets fell. First
// the splitter on every cut of a body, then the client against a raw
// node:http2 server that writes bodies in awkward pieces and broken ones.
import { once } from "node:events";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { DataSchema } from "@taloskit/api/common";
import { VersionResponseSchema } from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../src/grpc-protocol.js";
import { normalizePrivateKey, TalosClient, TalosError } from "../src/index.js";
import { createTalosPki } from "./helpers/pki.js";

const prefixed = (bytes: Uint8Array, flags = 0) => {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flags;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
};
// Messages as text; nothing is serialized here.
const identity = { serialize: () => new Uint8Array(), parse: (b: Uint8Array) => Buffer.from(b) };
async function* chunks(...parts: Uint8Array[]) {
  yield* parts;
}
async function all(body: AsyncIterable<Uint8Array>, max = 1024) {
  const out: string[] = [];
  for await (const m of messages(body, identity, max)) out.push(m.toString());
  return out;
}

describe("the message splitter", () => {
  const body = Buffer.concat([
    prefixed(Buffer.from("first message")),
    prefixed(Buffer.alloc(0)),
    prefixed(Buffer.from("third")),
  ]);

  it("reads the same messages wherever the body is cut, in two or three pieces", async () => {
    for (let i = 0; i <= body.length; i++) {
      expect(await all(chunks(body.subarray(0, i), body.subarray(i)))).toEqual([
        "first message",
        "",
        "third",
      ]);
      for (let j = i; j <= body.length; j += 3) {
        const parts = [body.subarray(0, i), body.subarray(i, j), body.subarray(j)];
        expect(await all(chunks(...parts))).toEqual(["first message", "", "third"]);
      }
    }
  });

  it("reads a body that comes one byte at a time", async () => {
    const bytes = [...body].map((b) => Uint8Array.of(b));
    expect(await all(chunks(...bytes))).toEqual(["first message", "", "third"]);
  });

  it("refuses a body that ends inside a message", async () => {
    for (const end of [1, 4, 5, 10]) {
      await expect(all(chunks(body.subarray(0, end)))).rejects.toThrow(/incomplete envelope/);
    }
  });

  it("refuses a message longer than the limit before reading it", async () => {
    const big = prefixed(Buffer.alloc(2048));
    await expect(all(chunks(big.subarray(0, 5)), 1024)).rejects.toMatchObject({
      code: 8, // RESOURCE_EXHAUSTED
      message: expect.stringMatching(
        /message size 2048 is larger than configured readMaxBytes 1024/,
      ),
    });
  });

  it("refuses a compressed message (no encoding was offered)", async () => {
    const err = await all(chunks(prefixed(Buffer.from("x"), 1))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).message).toMatch(/compressed/);
  });
});

describe("the client against bodies written in pieces", () => {
  let server: Http2SecureServer;
  let client: TalosClient;
  const versionBody = prefixed(
    toBinary(
      VersionResponseSchema,
      create(VersionResponseSchema, { messages: [{ version: { tag: "v1.14.0" } }] }),
    ),
  );
  const dataBody = Buffer.concat(
    Array.from({ length: 4 }, (_, i) =>
      prefixed(
        toBinary(DataSchema, create(DataSchema, { bytes: new Uint8Array(70_000).fill(i + 1) })),
      ),
    ),
  );
  // What each path answers: the body bytes, cut into the writes listed.
  const bodies: Record<string, { body: Buffer; cuts: number[] }> = {
    "/one-byte-writes": { body: versionBody, cuts: [...versionBody.keys()] },
    "/inside-prefix": { body: dataBody, cuts: [3, 70_006, 70_011, 140_020] },
    "/truncated": { body: dataBody.subarray(0, 100_000), cuts: [50_000] },
    "/compressed": { body: prefixed(Buffer.from("x"), 1), cuts: [] },
  };

  async function write(stream: ServerHttp2Stream, body: Buffer, cuts: number[]) {
    let from = 0;
    for (const to of [...cuts, body.length]) {
      if (to <= from) continue;
      // Separate writes, each flushed before the next, so the pieces leave as frames of their own.
      await new Promise<void>((resolve) => stream.write(body.subarray(from, to), () => resolve()));
      from = to;
    }
    stream.end();
  }

  beforeAll(async () => {
    const pki = await createTalosPki();
    const cert = pki.issueServer({ ipAddresses: ["127.0.0.1"] });
    const user = pki.issueClient({ roles: ["os:admin"] });
    server = createSecureServer({
      cert: cert.certPem,
      key: normalizePrivateKey(cert.keyPem).pem,
      ca: pki.ca.certPem,
      requestCert: true,
    });
    // The client cancels a stream it refuses; the server has nothing to say about it.
    server.on("session", (session) => session.on("error", () => {}));
    server.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      stream.resume();
      const answer = bodies[String(headers.node)];
      stream.respond(
        { ":status": 200, "content-type": "application/grpc+proto" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      void write(stream, answer?.body ?? Buffer.alloc(0), answer?.cuts ?? []);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const credentials = { ca: pki.ca.certPem, cert: user.certPem, key: user.keyPem };
    client = TalosClient.connect({ endpoints: [endpoint], ...credentials, retry: false });
  });
  afterAll(async () => {
    client?.close();
    await new Promise((r) => server?.close(r));
  });

  it("reads a unary answer written one byte at a time", async () => {
    const v = await client.at("/one-byte-writes").machine.version({});
    expect(v.messages[0]?.version?.tag).toBe("v1.14.0");
  });

  it("reads a byte stream whose writes cut prefixes and messages", async () => {
    const bytes = await client.streams.read("/x", { node: "/inside-prefix" }).bytes();
    expect(bytes.length).toBe(4 * 70_000);
    expect([0, 69_999, 70_000, 140_000, 279_999].map((i) => bytes[i])).toEqual([1, 1, 2, 3, 4]);
  });

  it("fails a stream that ends inside a message with a typed error naming the node", async () => {
    const err = await client.streams
      .read("/x", { node: "/truncated" })
      .bytes()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TalosError);
    expect(err).toMatchObject({ node: "/truncated", message: expect.stringMatching(/incomplete/) });
  });

  it("fails a call answered with a compressed message it cannot read", async () => {
    const err = await client
      .at("/compressed")
      .machine.version({})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TalosError);
    expect(err).toMatchObject({ code: "INTERNAL", node: "/compressed" });
  });
});
