// Leaving a stream before its end frees the server side of it at once: the
// simulated node counts its open server streams, and each test waits (with a
// deadline) for the count to drop after the reader left.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { SimNode } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TalosClient } from "../src/index.js";
import { type SimWithClients, startSimWithClients } from "./helpers/sim.js";

const NODE = "10.5.0.2";
const cp = { node: NODE };
/** How long the server side may take to see the cancellation. */
const FREED_WITHIN_MS = 1000;

let env: SimWithClients<"admin">;
let admin: TalosClient;
let node: SimNode;

beforeAll(async () => {
  env = await startSimWithClients(
    { nodes: [{ address: NODE, role: "controlplane" }] },
    { admin: { roles: ["os:admin"], nodes: [NODE] } },
  );
  admin = env.clients.admin;
  node = env.sim.node(NODE);
  // Far more than the HTTP/2 windows and buffers hold: the node stays blocked
  // on flow control until the stream is read on or cancelled.
  node.state.largeFileSize = 256 * 1024 * 1024;
  node.state.files.set("/var/sim-big/blob", randomBytes(16 * 1024 * 1024));
  // One line and then silence: a reader waiting for more waits on the network.
  node.state.logs.set("quiet", ["the only line"]);
  node.touch();
});
afterAll(async () => {
  await env?.close();
});

type Exit = "break" | "return" | "throw";

/** Reads the first item, checks the node serves the stream, leaves, and waits for the node to free it. */
async function leaveEarly(
  procedure: string,
  open: () => AsyncIterable<unknown>,
  exit: Exit,
  afterLeaving: () => void = () => {},
) {
  // Counted from what is open now, so that each test stands on its own.
  const before = node.openStreams(procedure);
  let items = 0;
  const read = async (): Promise<string> => {
    for await (const _ of open()) {
      items++;
      expect(node.openStreams(procedure)).toBe(before + 1);
      if (exit === "break") break;
      if (exit === "return") return "returned";
      throw new Error("thrown inside the loop");
    }
    return "broke";
  };
  if (exit === "throw") await expect(read()).rejects.toThrow("thrown inside the loop");
  else expect(await read()).toBe(exit === "break" ? "broke" : "returned");
  expect(items).toBe(1);
  afterLeaving();
  await node.streamsClosed(procedure, FREED_WITHIN_MS, before);
}

describe("leaving a stream early cancels it", () => {
  for (const exit of ["break", "return", "throw"] as const) {
    it(`logs (follow), by ${exit}`, async () => {
      await leaveEarly(
        "machine.MachineService/Logs",
        () =>
          admin.streams.logs({ namespace: "system", id: "quiet", follow: true, tailLines: -1 }, cp),
        exit,
      );
    });
  }

  it("dmesg (follow)", async () => {
    await leaveEarly(
      "machine.MachineService/Dmesg",
      () => admin.streams.dmesg({ follow: true }, cp),
      "break",
    );
  });

  it("read, with the node blocked on flow control", async () => {
    await leaveEarly(
      "machine.MachineService/Read",
      () => admin.streams.read("/sim/large", cp),
      "break",
    );
  });

  it("copy, with the node blocked on flow control", async () => {
    await leaveEarly(
      "machine.MachineService/Copy",
      () => admin.streams.copy("/var/sim-big", cp),
      "break",
    );
  });

  it("events", async () => {
    await leaveEarly(
      "machine.MachineService/Events",
      () => admin.streams.events({ tailEvents: -1 }, cp),
      "throw",
    );
  });

  it("COSI watch", async () => {
    await leaveEarly(
      "cosi.resource.State/Watch",
      () => admin.resources.watch("machinestatuses", cp),
      "break",
    );
  });

  // connect-es service clients end a stream through its signal (their iterators have no return()).
  it("a raw service stream (machine.read), through its signal", async () => {
    const reader = new AbortController();
    await leaveEarly(
      "machine.MachineService/Read",
      () => admin.at(NODE).machine.read({ path: "/sim/large" }, { signal: reader.signal }),
      "return",
      () => reader.abort(),
    );
  });

  it("a Node Readable destroyed while it waits for data", async () => {
    const procedure = "machine.MachineService/Logs";
    const before = node.openStreams(procedure);
    const readable = admin.streams
      .logs({ namespace: "system", id: "quiet", follow: true, tailLines: -1 }, cp)
      .toNodeReadable();
    const [chunk] = await once(readable, "data");
    expect(String(chunk)).toBe("the only line\n");
    expect(node.openStreams(procedure)).toBe(before + 1);
    readable.destroy();
    await node.streamsClosed(procedure, FREED_WITHIN_MS, before);
  });

  it("a web stream cancelled while it waits for data", async () => {
    const procedure = "machine.MachineService/Logs";
    const before = node.openStreams(procedure);
    const reader = admin.streams
      .logs({ namespace: "system", id: "quiet", follow: true, tailLines: -1 }, cp)
      .toWebStream()
      .getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value ?? []).toString()).toBe("the only line\n");
    expect(node.openStreams(procedure)).toBe(before + 1);
    await reader.cancel();
    await node.streamsClosed(procedure, FREED_WITHIN_MS, before);
  });

  it("a stream read to its end is closed on the node too", async () => {
    const before = node.openStreams("machine.MachineService/Read");
    expect(await admin.streams.read("/proc/sys/kernel/random/boot_id", cp).text()).toMatch(/\n$/);
    await node.streamsClosed("machine.MachineService/Read", FREED_WITHIN_MS, before);
  });
});
