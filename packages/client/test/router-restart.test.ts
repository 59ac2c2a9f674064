// A restarting endpoint (apid): read-only calls ride through it, calls that change
// a node are typed UNAVAILABLE and not repeated unless no server processed them,
// and a closed client never reconnects.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toTalosError } from "../src/errors.js";
import { ConnectionError, isTransient, TalosClient, TalosError } from "../src/index.js";
import { type ClusterSimulator, startCluster } from "./helpers/sim.js";

const NODE = "10.5.0.2";
let sim: ClusterSimulator;
let client: TalosClient;

beforeAll(async () => {
  sim = await startCluster({ nodes: [{ address: NODE }] });
  client = TalosClient.connect(sim.clientOptions());
});

afterAll(async () => {
  client?.close();
  await sim?.close();
});

const calls = (procedure: string) => sim.node(NODE).calls(procedure);

describe("a router restart", () => {
  it("is ridden through by a read-only call refused as it arrives", async () => {
    const before = calls("machine.MachineService/Version");
    const restarted = sim.faults.restartRouterOn("machine.MachineService/Version", "arrival");
    const reply = await client.at(NODE).machine.version({});
    await restarted;
    expect(reply.messages[0]?.version?.tag).toBe("v1.14.0");
    expect(calls("machine.MachineService/Version")).toBe(before + 1);
  });

  it("is ridden through by a read-only call whose answer it cut", async () => {
    const before = calls("machine.MachineService/Hostname");
    const restarted = sim.faults.restartRouterOn("machine.MachineService/Hostname", "response");
    const reply = await client.at(NODE).machine.hostname({});
    await restarted;
    expect(reply.messages[0]?.hostname).toBeTruthy();
    expect(calls("machine.MachineService/Hostname")).toBe(before + 2);
  });

  it("is ridden through by a read-only server stream before its first message", async () => {
    const restarted = sim.faults.restartRouterOn("machine.MachineService/Events", "arrival");
    const it = client.at(NODE).machine.events({ tailEvents: 1 })[Symbol.asyncIterator]();
    const first = await it.next();
    await restarted;
    expect(first.done).toBe(false);
    await it.return?.();
  });

  it("types a stream cut after its first message as transient UNAVAILABLE, not CANCELED", async () => {
    const restarted = sim.faults.restartRouterOn("machine.MachineService/Events", "response");
    const it = client.at(NODE).machine.events({ tailEvents: 1 })[Symbol.asyncIterator]();
    await it.next();
    const error = await it.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    await restarted;
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe("UNAVAILABLE");
    expect((error as ConnectionError).unprocessed).toBe(false);
    expect((error as ConnectionError).procedure).toBe("machine.MachineService/Events");
    expect(isTransient(error)).toBe(true);
  });

  it("does not repeat a call that changes a node once it may have been processed", async () => {
    const path = "machine.MachineService/ServiceRestart";
    const before = calls(path);
    const restarted = sim.faults.restartRouterOn(path, "response");
    const error = await client
      .at(NODE)
      .machine.serviceRestart({ id: "kubelet" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await restarted;
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as TalosError).code).toBe("UNAVAILABLE");
    expect(calls(path)).toBe(before + 1);
  });

  it("keeps calls working while the router restarts under them", async () => {
    for (let round = 0; round < 6; round++) {
      const restart = sim.faults.clear();
      const reply = await client.at(NODE).machine.version({});
      await restart;
      expect(reply.messages[0]?.version?.tag).toBe("v1.14.0");
    }
  });
});

describe("classifying a server going away", () => {
  it("types a refused stream as UNAVAILABLE and unprocessed (safe to send again)", () => {
    const refused = Object.assign(
      new Error("Stream closed with error code NGHTTP2_REFUSED_STREAM"),
      { code: "ERR_HTTP2_STREAM_ERROR" },
    );
    const error = toTalosError(
      new ConnectError(refused.message, Code.Internal, undefined, undefined, refused),
      {
        procedure: "machine.MachineService/Reboot",
      },
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe("UNAVAILABLE");
    expect((error as ConnectionError).unprocessed).toBe(true);
  });

  it("keeps a cancellation by the caller CANCELED", () => {
    const ac = new AbortController();
    ac.abort();
    const error = toTalosError(new ConnectError("aborted", Code.Canceled), { signal: ac.signal });
    expect(error.code).toBe("CANCELED");
  });
});

describe("a closed client", () => {
  it("fails unary and streaming calls at once, typed, and never reconnects; close() is idempotent", async () => {
    const own = TalosClient.connect(sim.clientOptions());
    await own.at(NODE).machine.version({});
    own.close();
    own.close();
    const before = calls("machine.MachineService/Version");
    const unary = await own
      .at(NODE)
      .machine.version({})
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(unary).toBeInstanceOf(TalosError);
    expect((unary as TalosError).code).toBe("CANCELED");
    expect((unary as TalosError).procedure).toBe("machine.MachineService/Version");
    expect((unary as TalosError).message).toMatch(/client is closed/);
    const stream = await own
      .at(NODE)
      .machine.events({})
      [Symbol.asyncIterator]()
      .next()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((stream as TalosError).code).toBe("CANCELED");
    expect((stream as TalosError).procedure).toBe("machine.MachineService/Events");
    expect(calls("machine.MachineService/Version")).toBe(before);
  });

  it("ends a call in flight when closed, as CANCELED, without retrying it", async () => {
    const own = TalosClient.connect(sim.clientOptions());
    const it = own.at(NODE).machine.events({ tailEvents: 1 })[Symbol.asyncIterator]();
    await it.next();
    const pending = it.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    own.close();
    expect(((await pending) as TalosError).code).toBe("CANCELED");
  });
});
