// Retries against the simulated cluster: read-only calls come back after a
// node is unreachable for a while, mutating calls are sent exactly once (as
// counted by the simulator), and aborts and timeouts cut the backoff short.
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { State } from "@taloskit/api/cosi";
import { ImageService, MachineService } from "@taloskit/api/machine";
import { backoffDelay } from "@taloskit/core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ConnectionError,
  DEFAULT_RETRY,
  isRetryable,
  isTransient,
  type RetryInfo,
  RpcError,
  TalosClient,
  TalosError,
  talosContext,
} from "../src/index.js";
import { type ClusterSimulator, type SimWithClients, startSimWithClients } from "./helpers/sim.js";

const CP = "10.5.0.2";
const WORKER = "10.5.0.3";
let env: SimWithClients<"admin">;
let sim: ClusterSimulator;
let client: TalosClient;
let dir: string;
let config: string;

beforeAll(async () => {
  env = await startSimWithClients(
    {
      largeFileSize: 2 * 1024 * 1024,
      nodes: [
        { address: CP, role: "controlplane", version: "v1.14.0" },
        { address: WORKER, role: "worker", version: "v1.14.0" },
      ],
    },
    { admin: { roles: ["os:admin"], nodes: [CP, WORKER] } },
  );
  ({ sim, dir } = env);
  config = env.paths.admin;
  client = env.clients.admin;
});
afterEach(() => {
  // Not faults.clear(): that restarts the router, which is not what these tests are about.
  for (const n of [CP, WORKER]) {
    sim.faults.unreachable(n, false);
    sim.faults.dropStreams(n, null);
  }
});
afterAll(async () => {
  await env?.close();
});

/** Counts calls of an RPC on a node made while `fn` runs. */
async function counted<T>(
  node: string,
  procedure: string,
  fn: () => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; calls: number }> {
  const before = sim.node(node).calls(procedure);
  let result: T | undefined;
  let error: unknown;
  try {
    result = await fn();
  } catch (e) {
    error = e;
  }
  return { result, error, calls: sim.node(node).calls(procedure) - before };
}

describe("retry policy", () => {
  it("full jitter: a uniform draw below the doubled base, capped by maxDelayMs", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(10, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
    expect(DEFAULT_RETRY.attempts).toBeGreaterThan(1);
  });

  it("retries read-only unary and server-streaming calls, never mutating or client-streaming ones", () => {
    const m = MachineService.method;
    for (const ok of [m.version, m.hostname, m.serviceList, m.memory, m.read, m.logs])
      expect(isRetryable(ok), ok.name).toBe(true);
    expect(isRetryable(ImageService.method.list)).toBe(true);
    expect(isRetryable(State.method.get)).toBe(true);
    expect(isRetryable(State.method.list)).toBe(true);
    for (const no of [m.applyConfiguration, m.reboot, m.upgrade, m.reset, m.etcdRecover])
      expect(isRetryable(no), no.name).toBe(false);
    for (const no of [ImageService.method.pull, ImageService.method.import, State.method.create])
      expect(isRetryable(no), no.name).toBe(false);
  });

  it("only unreachable nodes and endpoints count as transient", () => {
    expect(isTransient(new RpcError("UNAVAILABLE", "x"))).toBe(true);
    expect(isTransient(new ConnectionError("ENDPOINT_UNREACHABLE", "x"))).toBe(true);
    expect(isTransient(new ConnectionError("TLS_UNTRUSTED_SERVER", "x"))).toBe(false);
    expect(isTransient(new RpcError("DEADLINE_EXCEEDED", "x"))).toBe(false);
    expect(isTransient(new RpcError("PERMISSION_DENIED", "x"))).toBe(false);
    expect(isTransient(new Error("ECONNRESET"))).toBe(false);
  });

  it("bad retry settings are refused at connect and per call, naming the field", async () => {
    const err = await TalosClient.fromTalosconfig({ path: config, retry: { attempts: 0 } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(TalosError);
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/retry\.attempts/);
    const perCall = await client
      .at(CP)
      .machine.version({}, { contextValues: talosContext({ retry: { maxDelayMs: -1 } }) })
      .catch((e) => e);
    expect(perCall.code).toBe("INVALID_ARGUMENT");
    expect(perCall.message).toMatch(/machine\.MachineService\/Version: retry\.maxDelayMs/);
  });
});

describe("retries against the simulator", () => {
  it("a node that comes back during the retries answers a read-only call", async () => {
    sim.faults.unreachable(WORKER, true);
    const seen: RetryInfo[] = [];
    const { result, error, calls } = await counted(WORKER, "machine.MachineService/Version", () =>
      client.at(WORKER).machine.version(
        {},
        {
          contextValues: talosContext({
            retry: {
              attempts: 5,
              baseDelayMs: 1,
              maxDelayMs: 5,
              onRetry: (info) => {
                seen.push(info);
                // Back before the third attempt.
                if (info.attempt === 2) sim.faults.unreachable(WORKER, false);
              },
            },
          }),
        },
      ),
    );
    expect(error).toBeUndefined();
    expect(result?.messages[0]?.version?.tag).toBe("v1.14.0");
    expect(calls).toBe(3);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2]);
    expect(seen[0]?.error.code).toBe("UNAVAILABLE");
    expect(seen[0]?.node).toBe(WORKER);
    expect(seen[0]?.procedure).toBe("machine.MachineService/Version");
  });

  it("retries with the client's default policy when the call sets none", async () => {
    sim.faults.unreachable(WORKER, true);
    let retries = 0;
    const local = await TalosClient.fromTalosconfig({
      path: config,
      retry: {
        baseDelayMs: 1,
        maxDelayMs: 2,
        onRetry: () => {
          retries++;
          sim.faults.unreachable(WORKER, false);
        },
      },
    });
    try {
      const { result, calls } = await counted(WORKER, "machine.MachineService/Hostname", () =>
        local.at(WORKER).machine.hostname({}),
      );
      expect(result?.messages[0]?.hostname).toBeTruthy();
      expect(calls).toBe(2);
      expect(retries).toBe(1);
    } finally {
      local.close();
    }
  });

  it("a mutating call is sent exactly once, even when the caller asks for retries", async () => {
    sim.faults.unreachable(WORKER, true);
    const onRetry = () => {
      throw new Error("a mutating call must not be retried");
    };
    const reboot = await counted(WORKER, "machine.MachineService/Reboot", () =>
      client
        .at(WORKER)
        .machine.reboot(
          {},
          { contextValues: talosContext({ retry: { attempts: 5, baseDelayMs: 1, onRetry } }) },
        ),
    );
    expect(reboot.calls).toBe(1);
    expect((reboot.error as TalosError).code).toBe("UNAVAILABLE");
    expect((reboot.error as TalosError).node).toBe(WORKER);

    const apply = await counted(WORKER, "machine.MachineService/ApplyConfiguration", () =>
      client
        .at(WORKER)
        .machine.applyConfiguration(
          { data: new TextEncoder().encode("version: v1alpha1\n") },
          { contextValues: talosContext({ retry: { attempts: 5, baseDelayMs: 1, onRetry } }) },
        ),
    );
    expect(apply.calls).toBe(1);
    expect((apply.error as TalosError).code).toBe("UNAVAILABLE");

    const pull = await counted(WORKER, "machine.ImageService/Pull", async () => {
      for await (const _ of client
        .at(WORKER)
        .image.pull(
          { imageRef: "ghcr.io/siderolabs/installer:v1.14.1" },
          { contextValues: talosContext({ retry: { attempts: 5, baseDelayMs: 1, onRetry } }) },
        ));
    });
    expect(pull.calls).toBe(1);
    expect((pull.error as TalosError).code).toBe("UNAVAILABLE");
  });

  it("attempts exhausted: the typed Unavailable error names the node and the attempts", async () => {
    sim.faults.unreachable(WORKER, true);
    const { error, calls } = await counted(WORKER, "machine.MachineService/ServiceList", () =>
      client.at(WORKER).machine.serviceList(
        {},
        {
          contextValues: talosContext({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } }),
        },
      ),
    );
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(RpcError);
    const err = error as RpcError;
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.node).toBe(WORKER);
    expect(err.procedure).toBe("machine.MachineService/ServiceList");
    expect(err.message).toMatch(/on node 10\.5\.0\.3/);
    expect(err.message).toMatch(/gave up after 3 attempts/);
  });

  it("retry: false sends a read-only call once", async () => {
    sim.faults.unreachable(WORKER, true);
    const { error, calls } = await counted(WORKER, "machine.MachineService/Memory", () =>
      client.at(WORKER).machine.memory({}, { contextValues: talosContext({ retry: false }) }),
    );
    expect(calls).toBe(1);
    expect((error as TalosError).code).toBe("UNAVAILABLE");
    expect((error as TalosError).message).not.toMatch(/gave up/);
  });

  it("an abort during the backoff sleep ends the call at once with a CANCELED error", async () => {
    sim.faults.unreachable(WORKER, true);
    const ac = new AbortController();
    // A backoff of almost ten minutes (the jitter draw pinned): the test only ends in time if
    // the abort cuts the sleep.
    const draw = vi.spyOn(Math, "random").mockReturnValue(0.99);
    const { error, calls } = await counted(WORKER, "machine.MachineService/Version", () =>
      client.at(WORKER).machine.version(
        {},
        {
          signal: ac.signal,
          timeoutMs: 3_600_000,
          contextValues: talosContext({
            retry: {
              attempts: 3,
              baseDelayMs: 600_000,
              maxDelayMs: 600_000,
              onRetry: () => setTimeout(() => ac.abort(new Error("operator gave up")), 0),
            },
          }),
        },
      ),
    ).finally(() => draw.mockRestore());
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(TalosError);
    const err = error as TalosError;
    expect(err.code).toBe("CANCELED");
    expect(err.node).toBe(WORKER);
    expect(err.message).toMatch(/aborted while waiting to retry.*operator gave up/);
  });

  it("the call's timeout covers the backoff: no sleep past the deadline", async () => {
    sim.faults.unreachable(WORKER, true);
    // Full jitter draws the delay from [0, cap): pin the draw near the cap (594 s), past the deadline.
    const draw = vi.spyOn(Math, "random").mockReturnValue(0.99);
    const { error, calls } = await counted(WORKER, "machine.MachineService/Version", () =>
      client.at(WORKER).machine.version(
        {},
        {
          timeoutMs: 30_000,
          contextValues: talosContext({
            retry: { attempts: 3, baseDelayMs: 600_000, maxDelayMs: 600_000 },
          }),
        },
      ),
    ).finally(() => draw.mockRestore());
    expect(calls).toBe(1);
    const err = error as TalosError;
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.node).toBe(WORKER);
    expect(err.message).toMatch(/timed out after 30000 ms and 1 attempt; the last one failed/);
    expect((err.cause as TalosError).code).toBe("UNAVAILABLE");
  });

  it("a server stream is opened again while no message has arrived", async () => {
    sim.faults.unreachable(WORKER, true);
    const { result, calls } = await counted(WORKER, "cosi.resource.State/List", async () => {
      const ids: string[] = [];
      for await (const msg of client.at(WORKER).cosi.list(
        { namespace: "runtime", type: "MachineStatuses.runtime.talos.dev" },
        {
          contextValues: talosContext({
            retry: {
              baseDelayMs: 1,
              maxDelayMs: 2,
              onRetry: () => sim.faults.unreachable(WORKER, false),
            },
          }),
        },
      ))
        ids.push(msg.resource?.metadata?.id ?? "");
      return ids;
    });
    expect(result).toEqual(["machine"]);
    expect(calls).toBe(2);
  });

  it("a server stream is not retried once data has arrived", async () => {
    sim.faults.dropStreams(CP, 256 * 1024);
    let retried = false;
    let received = 0;
    const { error, calls } = await counted(CP, "machine.MachineService/Read", async () => {
      for await (const msg of client.at(CP).machine.read(
        { path: "/sim/large" },
        {
          contextValues: talosContext({
            retry: { baseDelayMs: 1, onRetry: () => (retried = true) },
          }),
        },
      ))
        received += msg.bytes.length;
    });
    expect(received).toBeGreaterThan(0);
    expect(calls).toBe(1);
    expect(retried).toBe(false);
    expect((error as TalosError).code).toBe("UNAVAILABLE");
    expect((error as TalosError).node).toBe(CP);
  });

  it("an endpoint that refuses connections: retried, then a ConnectionError naming the node", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const dead = join(dir, "dead");
    await writeFile(dead, sim.talosconfig({ endpoints: [`127.0.0.1:${port}`] }));
    const local = await TalosClient.fromTalosconfig({ path: dead });
    const retries: number[] = [];
    try {
      const err = await local
        .at(CP)
        .machine.version(
          {},
          {
            contextValues: talosContext({
              retry: {
                attempts: 2,
                baseDelayMs: 1,
                maxDelayMs: 1,
                onRetry: (i) => retries.push(i.attempt),
              },
            }),
          },
        )
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err.code).toBe("ENDPOINT_UNREACHABLE");
      expect(err.node).toBe(CP);
      expect(err.message).toMatch(/gave up after 2 attempts/);
      expect(retries).toEqual([1]);
    } finally {
      local.close();
    }
  });
});
