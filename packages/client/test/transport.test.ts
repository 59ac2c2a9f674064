// The client against a hand-written standard gRPC server over real TLS sockets.
import { createServer } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { DataSchema } from "@taloskit/api/common";
import { ReadRequestSchema, VersionResponseSchema } from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectionError,
  type CredentialsError,
  normalizeEndpoint,
  normalizePrivateKey,
  PermissionDeniedError,
  TalosClient,
  UnimplementedError,
} from "../src/index.js";
import { startGrpcServer, type TestServer } from "./helpers/grpc-server.js";
import { createMaintenanceCert, createTalosPki, type TalosPki } from "./helpers/pki.js";

const nodeKey = (pem: string) => normalizePrivateKey(pem).pem;
const version = (tag: string, hostname = "") =>
  toBinary(
    VersionResponseSchema,
    create(VersionResponseSchema, {
      messages: [{ metadata: { hostname }, version: { tag, arch: "amd64" } }],
    }),
  );

let pki: TalosPki;
let server: TestServer;
let admin: { certPem: string; keyPem: string };

beforeAll(async () => {
  pki = await createTalosPki();
  admin = pki.issueClient({ roles: ["os:reader"] });
  const cert = pki.issueServer({ ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"] });
  server = await startGrpcServer({
    cert: cert.certPem,
    key: nodeKey(cert.keyPem),
    ca: pki.ca.certPem,
    handlers: {
      "/machine.MachineService/Version": (_b, h) => ({
        messages: [version(String(h.node ?? "") === "10.5.0.3" ? "v1.13.9" : "v1.14.0")],
      }),
      "/machine.MachineService/Reboot": () => ({ status: 7, message: "not authorized" }),
      "/machine.LVMService/VolumeGroupRemove": () => ({ status: 12, message: "unknown service" }),
      "/machine.MachineService/Read": (body) => {
        const req = fromBinary(ReadRequestSchema, body[0] ?? new Uint8Array());
        const chunk = new Uint8Array(64 * 1024).fill(7);
        const n = req.path === "/big" ? 32 : 1;
        return {
          messages: Array.from({ length: n }, () =>
            toBinary(DataSchema, create(DataSchema, { bytes: chunk })),
          ),
        };
      },
    },
  });
});
afterAll(async () => {
  await server?.close();
});

function connect(over: Partial<Parameters<typeof TalosClient.connect>[0]> = {}) {
  return TalosClient.connect({
    endpoints: [server.endpoint],
    ca: pki.ca.certPem,
    cert: admin.certPem,
    key: admin.keyPem,
    ...over,
  });
}

describe("endpoints", () => {
  it("normalizes like talosctl", () => {
    expect(normalizeEndpoint("10.5.0.2").id).toBe("10.5.0.2:50000");
    expect(normalizeEndpoint("https://lb.example").id).toBe("lb.example:443");
    expect(normalizeEndpoint("tcp://h:1234").id).toBe("h:1234");
    expect(normalizeEndpoint("[::1]:7").id).toBe("[::1]:7");
    expect(normalizeEndpoint("::1").id).toBe("[::1]:50000");
    expect(() => normalizeEndpoint("h:99999")).toThrow(/not a valid/);
  });
});

describe("keys", () => {
  it("relabels a PKCS#8 Ed25519 key and rejects a wrong label or type", () => {
    const { keyPem } = pki.issueClient();
    expect(keyPem).toContain("ED25519 PRIVATE KEY");
    expect(normalizePrivateKey(keyPem).pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(() =>
      normalizePrivateKey(keyPem.replaceAll("ED25519 PRIVATE KEY", "PUBLIC KEY")),
    ).toThrow(/no private key PEM block/);
    expect(() =>
      normalizePrivateKey(keyPem.replaceAll("ED25519 PRIVATE KEY", "OPENSSH PRIVATE KEY")),
    ).toThrow(/unsupported PEM label "OPENSSH PRIVATE KEY"/);
    // An EC key wearing the Ed25519 label.
    const { generateKeyPairSync } = require("node:crypto") as typeof import("node:crypto");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    const fake = ec.replaceAll("PRIVATE KEY", "ED25519 PRIVATE KEY");
    try {
      normalizePrivateKey(fake);
      expect.unreachable();
    } catch (e) {
      expect((e as CredentialsError).code).toBe("CREDENTIALS_INVALID");
      expect((e as Error).message).toMatch(/not a PKCS#8 Ed25519 key/);
      expect((e as Error).message).not.toContain("MII");
    }
  });

  it("refuses an expired client certificate before connecting", () => {
    const old = pki.issueClient({
      notBefore: new Date(Date.now() - 10 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
    });
    const err = (() => {
      try {
        connect({ cert: old.certPem, key: old.keyPem });
      } catch (e) {
        return e as CredentialsError;
      }
    })();
    expect(err?.code).toBe("CREDENTIALS_EXPIRED");
    expect(err?.field).toBe("crt");
  });
});

describe("calls over mTLS", () => {
  it("sends runtime: Talos and node, never proxyfrom or talos-role", async () => {
    const client = connect();
    const res = await client
      .at("10.5.0.3")
      .machine.version({}, { headers: { proxyfrom: "x", "talos-role": "os:admin" } });
    expect(res.messages[0]?.version?.tag).toBe("v1.13.9");
    const h = server.requests.at(-1)?.headers ?? {};
    expect(h.runtime).toBe("Talos");
    expect(h.node).toBe("10.5.0.3");
    expect(h.proxyfrom).toBeUndefined();
    expect(h["talos-role"]).toBeUndefined();
    client.close();
  });

  it("passes the caller's other call options through: headers, onHeader, onTrailer", async () => {
    const client = connect();
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    await client.at("10.5.0.3").machine.version(
      {},
      {
        headers: { "x-request-id": "abc" },
        onHeader: (h) => {
          header = h;
        },
        onTrailer: (t) => {
          trailer = t;
        },
      },
    );
    expect(server.requests.at(-1)?.headers["x-request-id"]).toBe("abc");
    expect(header).toBeInstanceOf(Headers);
    expect(trailer?.get("grpc-status")).toBe("0");
    client.close();
  });

  it("reuses one HTTP/2 session for many calls", async () => {
    const client = connect();
    let sessions = 0;
    const count = () => sessions++;
    server.server.on("session", count);
    await Promise.all(Array.from({ length: 20 }, () => client.at("n").machine.version({})));
    await client.machine.version({}, {});
    server.server.off("session", count);
    expect(sessions).toBe(1);
    client.close();
  });

  it("explains PermissionDenied with the role the call needs", async () => {
    const client = connect();
    const err = await client
      .at("10.5.0.2")
      .machine.reboot({})
      .catch((e) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.node).toBe("10.5.0.2");
    expect(err.message).toContain("os:admin or os:operator");
    expect(err.message).toContain("os:reader");
    expect(err.requiredRoles).toEqual(["os:admin", "os:operator"]);
    client.close();
  });

  it("explains Unimplemented with the node's Talos version", async () => {
    const client = connect();
    const err = await client
      .at("10.5.0.3")
      .lvm.volumeGroupRemove({ volumeGroup: "vg0" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnimplementedError);
    expect(err.nodeVersion).toBe("v1.13.9");
    expect(err.message).toContain("Talos v1.13.9");
    expect(err.message).toContain("added in Talos v1.14");
    client.close();
  });

  it("reads a byte stream as iterable, Node Readable and web stream", async () => {
    const client = connect();
    const a = await client.streams.read("/big", { node: "n" }).bytes();
    expect(a.length).toBe(32 * 64 * 1024);
    let n = 0;
    for await (const c of client.streams.read("/big").toNodeReadable()) n += (c as Buffer).length;
    expect(n).toBe(32 * 64 * 1024);
    const reader = client.streams.read("/small").toWebStream().getReader();
    const first = await reader.read();
    expect(first.value?.length).toBe(64 * 1024);
    expect((await reader.read()).done).toBe(true);
    client.close();
  });

  it("honours the timeout and the abort signal", async () => {
    const client = connect();
    const ac = new AbortController();
    ac.abort();
    const err = await client.machine.version({}, { signal: ac.signal }).catch((e) => e);
    expect(err.code).toBe("CANCELED");
    client.close();
  });
});

describe("connection errors", () => {
  it("wrong CA: TLS_UNTRUSTED_SERVER", async () => {
    const client = connect({ ca: pki.otherCa.certPem });
    const err = await client.machine.version({}, {}).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.code).toBe("TLS_UNTRUSTED_SERVER");
    expect(err.endpoint).toBe(server.endpoint);
    client.close();
  });

  it("wrong host name: TLS_HOSTNAME_MISMATCH, fixed by serverName", async () => {
    const client = connect({ serverName: "talos.example" });
    const err = await client.machine.version({}, {}).catch((e) => e);
    expect(err.code).toBe("TLS_HOSTNAME_MISMATCH");
    client.close();
    const ok = connect({ endpoints: [`localhost:${server.port}`], serverName: "localhost" });
    expect((await ok.machine.version({}, {})).messages).toHaveLength(1);
    ok.close();
  });

  it("expired server certificate: TLS_CERT_EXPIRED", async () => {
    const cert = pki.issueServer({
      ipAddresses: ["127.0.0.1"],
      notBefore: new Date(Date.now() - 3 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
    });
    const expired = await startGrpcServer({
      cert: cert.certPem,
      key: nodeKey(cert.keyPem),
      handlers: {},
    });
    const client = connect({ endpoints: [expired.endpoint] });
    const err = await client.machine.version({}, {}).catch((e) => e);
    expect(err.code).toBe("TLS_CERT_EXPIRED");
    client.close();
    await expired.close();
  });

  it("client certificate from another CA is refused", async () => {
    const stranger = pki.issueClient({ ca: "other" });
    const client = connect({ cert: stranger.certPem, key: stranger.keyPem });
    const err = await client.machine.version({}, {}).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.code).toBe("TLS_CLIENT_CERT_REJECTED");
    client.close();
  });

  it("unreachable endpoint: ENDPOINT_UNREACHABLE; failover to the next endpoint", async () => {
    const free = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const dead = `127.0.0.1:${free}`;
    const only = connect({ endpoints: [dead] });
    const err = await only.machine.version({}, {}).catch((e) => e);
    expect(err.code).toBe("ENDPOINT_UNREACHABLE");
    expect(err.message).toContain(dead);
    only.close();
    const both = connect({ endpoints: [dead, server.endpoint] });
    expect((await both.at("x").machine.version({})).messages[0]?.version?.tag).toBe("v1.14.0");
    expect(await both.streams.read("/small").bytes()).toHaveLength(64 * 1024);
    both.close();
  });
});

describe("maintenance mode", () => {
  let maint: TestServer;
  let fingerprint: string;
  beforeAll(async () => {
    const m = await createMaintenanceCert({ ipAddresses: ["127.0.0.1"], dnsNames: [] });
    fingerprint = m.fingerprint;
    maint = await startGrpcServer({
      cert: m.leaf.certPem,
      key: nodeKey(m.leaf.keyPem),
      handlers: { "/machine.MachineService/Version": () => ({ messages: [version("v1.14.0")] }) },
    });
  });
  afterAll(() => maint.close());

  it("connects without a client certificate when the SPKI pin matches, without node metadata", async () => {
    const client = TalosClient.maintenance({
      endpoint: maint.endpoint,
      fingerprints: [fingerprint],
    });
    const res = await client.at("ignored").machine.version({});
    expect(res.messages[0]?.version?.tag).toBe("v1.14.0");
    expect(maint.requests.at(-1)?.headers.node).toBeUndefined();
    client.close();
  });

  it("refuses a server whose SPKI does not match the pin", async () => {
    const client = TalosClient.maintenance({
      endpoint: maint.endpoint,
      fingerprints: [Buffer.alloc(32).toString("base64")],
    });
    const err = await client.machine.version({}, {}).catch((e) => e);
    expect(err.code).toBe("TLS_FINGERPRINT_MISMATCH");
    expect(err.node).toBe(maint.endpoint);
    client.close();
  });

  it("skips verification only when asked by name", async () => {
    expect(() => TalosClient.maintenance({ endpoint: maint.endpoint })).toThrow(/fingerprints/);
    expect(() =>
      TalosClient.maintenance({ endpoint: maint.endpoint, insecure: "yes" as never }),
    ).toThrow(/skip-verification-i-know/);
    const client = TalosClient.maintenance({
      endpoint: maint.endpoint,
      insecure: "skip-verification-i-know",
    });
    expect((await client.machine.version({}, {})).messages).toHaveLength(1);
    client.close();
  });
});

void EmptySchema;
