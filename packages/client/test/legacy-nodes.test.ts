// Deprecated `nodes` metadata on the wire, and the in-band results of calls
// that use it, against the hand-written gRPC server (it sees raw headers).
import { create, toBinary } from "@bufbuild/protobuf";
import { MachineEventSchema, VersionResponseSchema } from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { legacyResults, normalizePrivateKey, TalosClient, talosContext } from "../src/index.js";
import { startGrpcServer, type TestServer } from "./helpers/grpc-server.js";
import { createTalosPki, type TalosPki } from "./helpers/pki.js";

let pki: TalosPki;
let server: TestServer;
let client: TalosClient;

const event = (init: Parameters<typeof create<typeof MachineEventSchema>>[1]) =>
  toBinary(MachineEventSchema, create(MachineEventSchema, init));

beforeAll(async () => {
  pki = await createTalosPki();
  const user = pki.issueClient({ roles: ["os:reader"] });
  const cert = pki.issueServer({ ipAddresses: ["127.0.0.1"] });
  server = await startGrpcServer({
    cert: cert.certPem,
    key: normalizePrivateKey(cert.keyPem).pem,
    ca: pki.ca.certPem,
    handlers: {
      "/machine.MachineService/Version": () => ({
        messages: [
          toBinary(
            VersionResponseSchema,
            create(VersionResponseSchema, {
              messages: [
                { metadata: { hostname: "10.5.0.2" }, version: { tag: "v1.14.0" } },
                {
                  metadata: {
                    hostname: "10.5.0.3",
                    error: "connection refused",
                    status: { code: 14, message: "connection refused" },
                  },
                },
              ],
            }),
          ),
        ],
      }),
      // As apid relays Events of two nodes: each node's hello, then one node fails.
      "/machine.MachineService/Events": () => ({
        messages: [
          event({ metadata: { hostname: "10.5.0.2" }, id: "hello-1", data: {} }),
          event({ metadata: { hostname: "10.5.0.3" }, id: "hello-2", data: {} }),
          event({
            metadata: {
              hostname: "10.5.0.3",
              error: "connection refused",
              status: { code: 14, message: "connection refused" },
            },
          }),
        ],
      }),
    },
  });
  client = TalosClient.connect({
    endpoints: [server.endpoint],
    ca: pki.ca.certPem,
    cert: user.certPem,
    key: user.keyPem,
    retry: false,
  });
});
afterAll(async () => {
  client?.close();
  await server?.close();
});

/** The values of a header as they came on the wire, one per header field. */
function wireValues(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === name) out.push(raw[i + 1] as string);
  return out;
}

describe("deprecated nodes metadata", () => {
  it("sends one header field per node, never a comma-joined value", async () => {
    const before = server.requests.length;
    const res = await client.machine.version(
      {},
      { contextValues: talosContext({ legacyNodes: ["10.5.0.2", "10.5.0.3"] }) },
    );
    const req = server.requests[before];
    expect(req?.path).toBe("/machine.MachineService/Version");
    expect(wireValues(req?.rawHeaders ?? [], "nodes")).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(wireValues(req?.rawHeaders ?? [], "node")).toEqual([]);
    const results = legacyResults(res);
    expect(results.map((r) => ("error" in r ? r.error.code : "ok"))).toEqual(["ok", "UNAVAILABLE"]);
  });

  it("a single node is one field, and streams send them the same way", async () => {
    const before = server.requests.length;
    await client.machine.version(
      {},
      { contextValues: talosContext({ legacyNodes: ["10.5.0.2"] }) },
    );
    expect(wireValues(server.requests[before]?.rawHeaders ?? [], "nodes")).toEqual(["10.5.0.2"]);
    const events = client.streams.events({}, { legacyNodes: ["10.5.0.2", "10.5.0.3", "cp-1"] });
    await expect(events.next()).rejects.toMatchObject({ code: "UNAVAILABLE", node: "10.5.0.3" });
    const req = server.requests.at(-1);
    expect(req?.path).toBe("/machine.MachineService/Events");
    expect(wireValues(req?.rawHeaders ?? [], "nodes")).toEqual(["10.5.0.2", "10.5.0.3", "cp-1"]);
  });

  it("refuses a node name that holds a comma (it would be two nodes on the wire)", async () => {
    await expect(
      client.machine.version(
        {},
        { contextValues: talosContext({ legacyNodes: ["10.5.0.2,10.5.0.3"] }) },
      ),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("events relayed for several nodes", () => {
  it("skips each node's hello and throws a node's in-band failure", async () => {
    const seen: string[] = [];
    const read = async () => {
      for await (const ev of client.streams.events({}, { legacyNodes: ["10.5.0.2", "10.5.0.3"] }))
        seen.push(ev.id);
    };
    await expect(read()).rejects.toMatchObject({ code: "UNAVAILABLE", node: "10.5.0.3" });
    expect(seen).toEqual([]);
  });
});
