// The client's extension points, against the simulated cluster over real TLS:
// a caller's interceptor sees every call once (retries and failovers happen
// below it) with its errors already typed; a transport made with
// createTalosTransport serves plain connect-es clients; what the client knows
// of a node is forgotten together when the node reboots.
import { createClient, createContextValues, type Interceptor } from "@connectrpc/connect";
import { MachineService } from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTalosTransport,
  NODE_KEY,
  RpcError,
  TalosClient,
  TalosError,
  talosContext,
} from "../src/index.js";
import { type ClusterSimulator, startCluster } from "./helpers/sim.js";

const CP = "10.5.0.2";
const WORKER = "10.5.0.3";
let sim: ClusterSimulator;

beforeAll(async () => {
  sim = await startCluster({
    rebootDelayMs: 30,
    nodes: [
      { address: CP, role: "controlplane", version: "v1.14.0" },
      { address: WORKER, role: "worker", version: "v1.14.0" },
    ],
  });
});
afterAll(async () => {
  await sim?.close();
});

interface Seen {
  procedure: string;
  node: string | undefined;
  stream: boolean;
  outcome: "ok" | string;
}

/** An interceptor that records each call it sees, as a logging or metrics one would. */
function recorder(seen: Seen[]): Interceptor {
  return (next) => async (req) => {
    const entry: Seen = {
      procedure: `${req.method.parent.typeName}/${req.method.name}`,
      node: req.contextValues.get(NODE_KEY),
      stream: req.stream,
      outcome: "ok",
    };
    seen.push(entry);
    try {
      return await next(req);
    } catch (error) {
      entry.outcome = error instanceof TalosError ? error.code : "untyped";
      throw error;
    }
  };
}

describe("a caller's interceptor", () => {
  it("sees every call of the client once: unary, streams, helpers and the client's own reads", async () => {
    const seen: Seen[] = [];
    const client = TalosClient.connect({ ...sim.clientOptions(), interceptors: [recorder(seen)] });
    try {
      await client.machine.version({});
      await client.at(WORKER).machine.hostname({});
      await client.streams.read("/etc/hostname", { node: CP }).text();
      const list = await client.resources.list("members", { node: CP });
      expect(list.length).toBeGreaterThan(0);
      expect(seen.map((s) => [s.procedure, s.node ?? "-", s.stream])).toEqual([
        ["machine.MachineService/Version", "-", false],
        ["machine.MachineService/Hostname", WORKER, false],
        ["machine.MachineService/Read", CP, true],
        // The resource helper reads the node's definitions and version first.
        ["cosi.resource.State/List", CP, true],
        ["machine.MachineService/Version", CP, false],
        ["cosi.resource.State/List", CP, true],
      ]);
      expect(seen.every((s) => s.outcome === "ok")).toBe(true);
    } finally {
      client.close();
    }
  });

  it("sees a retried call once, and its failure as a typed error", async () => {
    const seen: Seen[] = [];
    const client = TalosClient.connect({ ...sim.clientOptions(), interceptors: [recorder(seen)] });
    const before = sim.node(WORKER).calls("machine.MachineService/Hostname");
    sim.faults.unreachable(WORKER, true);
    try {
      const err = await client
        .at(WORKER)
        .machine.hostname(
          {},
          {
            contextValues: talosContext({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }),
          },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ code: "UNAVAILABLE", node: WORKER });
      // Three attempts reached the node; the interceptor saw one call, failed and typed.
      expect(sim.node(WORKER).calls("machine.MachineService/Hostname") - before).toBe(3);
      expect(seen).toEqual([
        {
          procedure: "machine.MachineService/Hostname",
          node: WORKER,
          stream: false,
          outcome: "UNAVAILABLE",
        },
      ]);
    } finally {
      sim.faults.unreachable(WORKER, false);
      client.close();
    }
  });
});

describe("createTalosTransport", () => {
  it("serves plain connect-es clients, with the node as a context value", async () => {
    const opts = sim.clientOptions();
    const transport = createTalosTransport({
      endpoints: opts.endpoints,
      tls: { ca: opts.ca, cert: opts.cert, key: opts.key },
    });
    try {
      const machine = createClient(MachineService, transport);
      const onWorker = { contextValues: createContextValues().set(NODE_KEY, WORKER) };
      const before = sim.node(WORKER).calls("machine.MachineService/Hostname");
      const reply = await machine.hostname({}, onWorker);
      expect(reply.messages[0]?.hostname).toBeTruthy();
      expect(sim.node(WORKER).calls("machine.MachineService/Hostname")).toBe(before + 1);
      // Errors come out typed, naming the node and the call.
      const err = await machine
        .hostname({}, { contextValues: createContextValues().set(NODE_KEY, "10.9.9.9") })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TalosError);
      expect(err).toMatchObject({ node: "10.9.9.9", procedure: "machine.MachineService/Hostname" });
    } finally {
      transport.close();
    }
  });
});

describe("what the client knows of a node", () => {
  it("is forgotten together when the node reboots: version, resource definitions and boot ID", async () => {
    const client = TalosClient.connect(sim.clientOptions());
    try {
      const state = client.nodeState(WORKER);
      const bootBefore = await state.currentBootId();
      expect(bootBefore).toMatch(/^[0-9a-f-]{36}$/);
      expect(await state.talosVersion()).toBe("v1.14.0");
      const defsBefore = await state.resourceDefinitions();
      expect(defsBefore.length).toBeGreaterThan(10);
      // Read once, then served from what the client knows.
      const listsBefore = sim.node(WORKER).calls("cosi.resource.State/List");
      await client.resources.definitionsOf({ node: WORKER });
      expect(sim.node(WORKER).calls("cosi.resource.State/List")).toBe(listsBefore);

      const up = sim.node(WORKER).nextBoot(10_000);
      await client.at(WORKER).machine.reboot({});
      await up;
      const after = client.nodeState(WORKER);
      expect(after).not.toBe(state);
      const bootAfter = await after.currentBootId();
      expect(bootAfter).toMatch(/^[0-9a-f-]{36}$/);
      expect(bootAfter).not.toBe(bootBefore);
      await after.resourceDefinitions();
      expect(sim.node(WORKER).calls("cosi.resource.State/List")).toBe(listsBefore + 1);
    } finally {
      client.close();
    }
  });
});
