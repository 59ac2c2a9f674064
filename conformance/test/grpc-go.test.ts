// The client against a second server stack: grpc-go serving Talos's own
// generated MachineService (see conformance/apid), over mutual TLS. The server
// reports on stdout what it received and when its streams ended, so each test
// checks the server's side of the call too; waits on those reports have
// deadlines and never sleep.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { constants as h2, connect as http2Connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  PermissionDeniedError,
  RpcError,
  TalosClient,
  TalosError,
  talosContext,
  UnimplementedError,
} from "@taloskit/client";
import { createTalosPki, type TalosPki } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { programBinary } from "../oracles.js";

const NODE = "10.5.0.2";
const VERSION = "v1.14.1";

/** One line the server printed. */
interface Report {
  event: string;
  method?: string;
  stream?: number;
  sent?: number;
  reason?: string;
  sha256?: string;
  node?: string[] | null;
  nodes?: string[] | null;
  hasDeadline?: boolean;
  timeoutMs?: number;
  port?: number;
}

/** The apid-like server process and what it printed so far. */
class GoServer {
  readonly reports: Report[] = [];
  private readonly waiters = new Set<() => void>();
  private stderr = "";
  private exited: string | undefined;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      this.reports.push(JSON.parse(line) as Report);
      for (const w of this.waiters) w();
    });
    child.stderr.on("data", (b: Buffer) => {
      this.stderr += b.toString();
    });
    child.on("exit", (code) => {
      this.exited = `the server exited with ${code}: ${this.stderr.trim()}`;
      for (const w of this.waiters) w();
    });
  }

  /** Where the next wait starts: reports printed from now on. */
  mark(): number {
    return this.reports.length;
  }

  /** The first report from `from` on that matches, waiting at most `withinMs` for it. */
  waitFor(pred: (r: Report) => boolean, withinMs: number, from = 0): Promise<Report> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.reports.slice(from).find(pred);
        if (found || this.exited) {
          this.waiters.delete(check);
          clearTimeout(timer);
          if (found) resolve(found);
          else reject(new Error(this.exited));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.reports.slice(from).map((r) => JSON.stringify(r));
        reject(new Error(`no matching report within ${withinMs} ms; seen:\n${seen.join("\n")}`));
      }, withinMs);
      this.waiters.add(check);
      check();
    });
  }

  /** The metadata the server saw on the first call of `method` from `from` on. */
  call(method: string, from: number): Promise<Report> {
    return this.waitFor((r) => r.event === "call" && r.method === method, 2000, from);
  }

  close(): void {
    this.child.stdin.end();
  }
}

const M = "/machine.MachineService/";

let pki: TalosPki;
let dir: string;
let server: GoServer;
let endpoint: string;
let client: TalosClient;
let user: { certPem: string; keyPem: string };

function connect(extra: { defaultTimeoutMs?: number } = {}): TalosClient {
  return TalosClient.connect({
    endpoints: [endpoint],
    ca: pki.ca.certPem,
    cert: user.certPem,
    key: user.keyPem,
    retry: false,
    ...extra,
  });
}

beforeAll(async () => {
  const bin = programBinary("apid");
  pki = await createTalosPki();
  dir = mkdtempSync(join(tmpdir(), "apid-conformance-"));
  const cert = pki.issueServer({ ipAddresses: ["127.0.0.1"] });
  // Talos's own key label: grpc-go's TLS loader reads it as apid does.
  writeFileSync(join(dir, "server.crt"), cert.certPem);
  writeFileSync(join(dir, "server.key"), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, "ca.crt"), pki.ca.certPem);
  const child = spawn(
    bin,
    ["-cert", join(dir, "server.crt"), "-key", join(dir, "server.key"), "-ca", join(dir, "ca.crt")],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  server = new GoServer(child);
  const listening = await server.waitFor((r) => r.event === "listening", 10_000);
  endpoint = `127.0.0.1:${listening.port}`;
  user = pki.issueClient({ roles: ["os:admin"] });
  client = connect();
});

afterAll(async () => {
  client?.close();
  if (server) {
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    server.close();
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("unary calls", () => {
  it("Version with a node per call: node metadata goes out single, the hostname comes back", async () => {
    for (const node of [NODE, "10.5.0.3"]) {
      const from = server.mark();
      const resp = await client.at(node).machine.version({});
      expect(resp.messages).toHaveLength(1);
      expect(resp.messages[0]?.metadata?.hostname).toBe(node);
      expect(resp.messages[0]?.version?.tag).toBe(VERSION);
      const seen = await server.call(`${M}Version`, from);
      expect(seen.node).toEqual([node]);
      expect(seen.nodes ?? []).toEqual([]);
    }
  });

  it("the node of the call wins over a node header given by hand: grpc-go sees one value", async () => {
    const from = server.mark();
    await client.at(NODE).machine.hostname({}, { headers: { node: "10.9.9.9" } });
    expect((await server.call(`${M}Hostname`, from)).node).toEqual([NODE]);
  });

  it("fans out with onNodes: one result per node in order, failures typed and attributed", async () => {
    const nodes = ["10.5.0.2", "10.5.0.3", "10.5.0.4", "denied"];
    const results = await client.onNodes(nodes, async (node, signal) => {
      if (node === "denied") {
        await client.at(node).machine.serviceRestart({ id: "denied" }, { signal });
        return "";
      }
      const r = await client.at(node).machine.hostname({}, { signal });
      return `${r.messages[0]?.metadata?.hostname}=${r.messages[0]?.hostname}`;
    });
    expect(results.map((r) => r.node)).toEqual(nodes);
    expect(results.slice(0, 3).map((r) => ("value" in r ? r.value : r.error.message))).toEqual([
      "10.5.0.2=talos-10-5-0-2",
      "10.5.0.3=talos-10-5-0-3",
      "10.5.0.4=talos-10-5-0-4",
    ]);
    const failed = results[3];
    expect(failed && "error" in failed ? failed.error : undefined).toBeInstanceOf(
      PermissionDeniedError,
    );
    expect(failed && "error" in failed ? failed.error.node : undefined).toBe("denied");
  });
});

describe("typed errors from grpc-go status codes", () => {
  async function failure(call: Promise<unknown>): Promise<TalosError> {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TalosError);
    return err as TalosError;
  }

  it("PermissionDenied becomes PermissionDeniedError with the roles the call needs", async () => {
    const err = await failure(client.at(NODE).machine.serviceRestart({ id: "denied" }));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.code).toBe("PERMISSION_DENIED");
    expect(err.grpcCode).toBe("permission_denied");
    expect(err.node).toBe(NODE);
    expect(err.procedure).toBe("machine.MachineService/ServiceRestart");
    expect(err.message).toContain("machine.MachineService/ServiceRestart on node 10.5.0.2");
    expect((err as PermissionDeniedError).requiredRoles?.length).toBeGreaterThan(0);
    expect(String((err.cause as Error | undefined)?.message)).toContain("not authorized");
  });

  it("Unimplemented from a handler and from grpc-go itself become UnimplementedError with the node's version", async () => {
    const byHandler = await failure(
      client.at(NODE).machine.serviceRestart({ id: "unimplemented" }),
    );
    expect(byHandler).toBeInstanceOf(UnimplementedError);
    expect(byHandler.code).toBe("UNIMPLEMENTED");
    expect((byHandler as UnimplementedError).nodeVersion).toBe(VERSION);
    expect(byHandler.message).toContain(VERSION);
    // The generated Unimplemented server's own answer.
    const byStub = await failure(client.at(NODE).machine.dmesg({})[Symbol.asyncIterator]().next());
    expect(byStub).toBeInstanceOf(UnimplementedError);
    expect(String((byStub.cause as Error | undefined)?.message)).toContain("not implemented");
    // A service grpc-go has not registered at all.
    const unknown = await failure(client.at(NODE).time.time({}));
    expect(unknown).toBeInstanceOf(UnimplementedError);
    expect(unknown.procedure).toBe("time.TimeService/Time");
    expect(String((unknown.cause as Error | undefined)?.message)).toContain(
      "unknown service time.TimeService",
    );
  });

  it("InvalidArgument and NotFound keep their codes and the server's message", async () => {
    const invalid = await failure(client.at(NODE).machine.serviceRestart({ id: "invalid" }));
    expect(invalid).toBeInstanceOf(RpcError);
    expect(invalid.code).toBe("INVALID_ARGUMENT");
    expect(invalid.message).toContain('service "invalid" not found');
    const missing = await failure(client.at(NODE).machine.serviceRestart({ id: "nope" }));
    expect(missing.code).toBe("NOT_FOUND");
    expect(missing.node).toBe(NODE);
  });

  it("the server rejects a node header sent twice, as apid does (raw HTTP/2, the client never sends it)", async () => {
    const session = http2Connect(`https://${endpoint}`, {
      ca: pki.ca.certPem,
      cert: user.certPem,
      key: (await import("@taloskit/client")).normalizePrivateKey(user.keyPem).pem,
    });
    try {
      const req = session.request({
        [h2.HTTP2_HEADER_METHOD]: "POST",
        [h2.HTTP2_HEADER_PATH]: `${M}Version`,
        "content-type": "application/grpc",
        te: "trailers",
        node: [NODE, "10.5.0.3"],
      });
      req.end(Buffer.from([0, 0, 0, 0, 0]));
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        req.on("response", (headers) => {
          // A trailers-only answer carries the status in the response headers.
          if (headers["grpc-status"] !== undefined) resolve(headers);
        });
        req.on("trailers", resolve);
        req.on("error", reject);
        req.resume();
      });
      expect(trailers["grpc-status"]).toBe("3");
      expect(trailers["grpc-message"]).toBe("node metadata must be single-valued");
    } finally {
      session.close();
    }
  });
});

describe("server streams", () => {
  it("Logs: leaving a followed stream early frees grpc-go's stream within a second", async () => {
    for (const exit of ["break", "return"] as const) {
      const from = server.mark();
      const lines: string[] = [];
      const read = async () => {
        for await (const chunk of client.streams.logs(
          { id: "kubelet", follow: true },
          { node: NODE },
        )) {
          lines.push(Buffer.from(chunk).toString());
          if (lines.length === 3) {
            if (exit === "break") break;
            return;
          }
        }
      };
      await read();
      const left = Date.now();
      expect(lines).toEqual(["kubelet line 0\n", "kubelet line 1\n", "kubelet line 2\n"]);
      const started = await server.waitFor(
        (r) => r.event === "started" && r.method === "Logs",
        1000,
        from,
      );
      const ended = await server.waitFor(
        (r) => r.event === "ended" && r.method === "Logs" && r.stream === started.stream,
        1000,
        from,
      );
      expect(Date.now() - left).toBeLessThan(1000);
      expect(ended.reason).toBe("context canceled");
    }
  });

  it("Logs without follow ends by itself with the lines asked for", async () => {
    const text = await client.streams.logs({ id: "apid", tailLines: 4 }, { node: NODE }).text();
    expect(text).toBe("apid line 0\napid line 1\napid line 2\napid line 3\n");
  });

  it("Read: 64 MiB arrive whole, byte for byte what grpc-go sent", async () => {
    const size = 64 * 1024 * 1024;
    const from = server.mark();
    const hash = createHash("sha256");
    let received = 0;
    for await (const chunk of client.streams.read(`/big/${size}`, { node: NODE })) {
      hash.update(chunk);
      received += chunk.length;
    }
    expect(received).toBe(size);
    const done = await server.waitFor(
      (r) => r.event === "ended" && r.method === "Read" && r.sent === size,
      2000,
      from,
    );
    expect(hash.digest("hex")).toBe(done.sha256);
  });

  it("Read of a missing file fails with NOT_FOUND", async () => {
    await expect(client.streams.read("/etc/none", { node: NODE }).bytes()).rejects.toMatchObject({
      code: "NOT_FOUND",
      node: NODE,
    });
  });

  it("Events: the hello goes out first on the wire, and the client skips it", async () => {
    // On the wire: the hello machined sends first, then the events.
    const raw: string[] = [];
    for await (const ev of client.at(NODE).machine.events({ tailEvents: 2 })) {
      raw.push(ev.data?.typeUrl || `hello:${ev.id}`);
      if (raw.length === 3) break;
    }
    expect(raw[0]).toMatch(/^hello:hello-\d+$/);
    expect(raw.slice(1)).toEqual([
      "talos/runtime/machine.SequenceEvent",
      "talos/runtime/machine.PhaseEvent",
    ]);
    const from = server.mark();
    const decoded: { type: string; id: string; payload: unknown }[] = [];
    for await (const ev of client.streams.events({ tailEvents: 4 }, { node: NODE })) {
      decoded.push(ev);
      if (decoded.length === 4) break;
    }
    expect(decoded.map((e) => e.type)).toEqual([
      "machine.SequenceEvent",
      "machine.PhaseEvent",
      "machine.SequenceEvent",
      "machine.PhaseEvent",
    ]);
    expect(decoded.every((e) => e.id.startsWith("ev-") && e.payload !== undefined)).toBe(true);
    expect(decoded[1]?.payload).toMatchObject({ phase: "phase-1" });
    const ended = await server.waitFor(
      (r) => r.event === "ended" && r.method === "Events",
      1000,
      from,
    );
    expect(ended.reason).toBe("context canceled");
  });
});

describe("legacy nodes metadata", () => {
  it("reaches grpc-go as one value per node, and each node answers", async () => {
    const nodes = ["10.5.0.2", "10.5.0.3", "10.5.0.4"];
    const from = server.mark();
    const resp = await client.machine.version(
      {},
      { contextValues: talosContext({ legacyNodes: nodes }) },
    );
    const seen = await server.call(`${M}Version`, from);
    expect(seen.nodes).toEqual(nodes);
    expect(seen.node ?? []).toEqual([]);
    expect(resp.messages.map((m) => m.metadata?.hostname)).toEqual(nodes);
  });

  it("streams too: Logs with legacy nodes carries them as separate values", async () => {
    const from = server.mark();
    const text = await client.streams
      .logs({ id: "x", tailLines: 1 }, { legacyNodes: ["a", "b"] })
      .text();
    expect(text).toBe("x line 0\n");
    expect((await server.call(`${M}Logs`, from)).nodes).toEqual(["a", "b"]);
  });
});

describe("deadlines", () => {
  it("timeoutMs reaches grpc-go as the call's deadline, and expiry is DEADLINE_EXCEEDED", async () => {
    const from = server.mark();
    const err = await client
      .at(NODE)
      .machine.memory({}, { timeoutMs: 300 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(TalosError);
    expect((err as TalosError).code).toBe("DEADLINE_EXCEEDED");
    expect((err as TalosError).node).toBe(NODE);
    const ended = await server.waitFor(
      (r) => r.event === "ended" && r.method === "Memory",
      2000,
      from,
    );
    expect(ended.hasDeadline).toBe(true);
    expect(ended.timeoutMs).toBeGreaterThan(100);
    expect(ended.timeoutMs).toBeLessThanOrEqual(300);
    // The client's own timer fires first and resets the stream (as grpc-go's client
    // does), so the server's context ends by either the deadline or the reset.
    expect(ended.reason).toMatch(/^context (deadline exceeded|canceled)$/);
  });

  it("the client's default timeout applies to unary calls", async () => {
    const short = connect({ defaultTimeoutMs: 400 });
    try {
      const from = server.mark();
      await expect(short.at(NODE).machine.memory({})).rejects.toMatchObject({
        code: "DEADLINE_EXCEEDED",
      });
      const ended = await server.waitFor(
        (r) => r.event === "ended" && r.method === "Memory",
        2000,
        from,
      );
      expect(ended.timeoutMs).toBeGreaterThan(200);
      expect(ended.timeoutMs).toBeLessThanOrEqual(400);
    } finally {
      short.close();
    }
  });

  it("an aborted signal cancels the call on the server, as CANCELED", async () => {
    const from = server.mark();
    const controller = new AbortController();
    const call = client.at(NODE).machine.memory({}, { signal: controller.signal });
    // Abort once the server has the call in hand.
    await server.call(`${M}Memory`, from);
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: "CANCELED" });
    const ended = await server.waitFor(
      (r) => r.event === "ended" && r.method === "Memory",
      1000,
      from,
    );
    expect(ended.reason).toBe("context canceled");
  });

  it("streams carry no deadline unless given one; with timeoutMs a followed stream ends DEADLINE_EXCEEDED", async () => {
    let from = server.mark();
    const it = client.streams
      .logs({ id: "long", follow: true }, { node: NODE })
      [Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await it.return?.();
    const open = await server.waitFor(
      (r) => r.event === "started" && r.method === "Logs",
      1000,
      from,
    );
    expect(open.hasDeadline).toBe(false);
    from = server.mark();
    const lines: string[] = [];
    const read = async () => {
      for await (const chunk of client.streams.logs(
        { id: "timed", follow: true },
        { node: NODE, timeoutMs: 300 },
      )) {
        lines.push(Buffer.from(chunk).toString());
      }
    };
    await expect(read()).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED", node: NODE });
    expect(lines.length).toBeGreaterThan(0);
    const started = await server.waitFor(
      (r) => r.event === "started" && r.method === "Logs",
      1000,
      from,
    );
    expect(started.hasDeadline).toBe(true);
    expect(started.timeoutMs).toBeLessThanOrEqual(300);
    const ended = await server.waitFor(
      (r) => r.event === "ended" && r.method === "Logs" && r.stream === started.stream,
      2000,
      from,
    );
    expect(ended.reason).toMatch(/DeadlineExceeded|deadline exceeded|context canceled/);
  });
});
