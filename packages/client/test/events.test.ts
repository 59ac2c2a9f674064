// Events as Talos sends them: machined opens every Events stream with a
// "hello" (a fresh ID and an Any with neither type nor bytes), which the
// client skips; every real event names its payload type.
import { create } from "@bufbuild/protobuf";
import { MachineEventSchema } from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isHelloEvent, type TalosClient } from "../src/index.js";

import { type SimWithClients, startSimWithClients } from "./helpers/sim.js";

const NODE = "10.5.0.2";
const cp = { node: NODE };

let env: SimWithClients<"admin">;
let admin: TalosClient;

beforeAll(async () => {
  env = await startSimWithClients(
    { nodes: [{ address: NODE, role: "controlplane" }] },
    { admin: { roles: ["os:admin"], nodes: [NODE] } },
  );
  admin = env.clients.admin;
});
afterAll(async () => {
  await env?.close();
});

describe("the hello event", () => {
  it("the simulated node sends it first, shaped as machined's", async () => {
    for await (const ev of admin.at(NODE).machine.events({ tailEvents: -1, withActorId: "" })) {
      expect(ev.id).not.toBe("");
      expect(ev.data).toBeDefined();
      expect(ev.data?.typeUrl).toBe("");
      expect(ev.data?.value.length).toBe(0);
      break;
    }
  });

  it("streams.events skips it and yields the node's events from the first", async () => {
    const raw: string[] = [];
    for await (const ev of admin.at(NODE).machine.events({ tailEvents: 2 })) {
      raw.push(ev.data?.typeUrl ?? "");
      if (raw.length === 3) break;
    }
    const decoded: string[] = [];
    for await (const ev of admin.streams.events({ tailEvents: 2 }, cp)) {
      expect(ev.id).not.toBe("");
      decoded.push(`talos/runtime/${ev.type}`);
      if (decoded.length === 2) break;
    }
    expect(raw[0]).toBe("");
    expect(decoded).toEqual(raw.slice(1));
  });

  it("only a payload with neither type nor bytes is a hello", () => {
    const talosHello = create(MachineEventSchema, { id: "d0abc", data: {} });
    const simHello = create(MachineEventSchema, {});
    // A real event whose payload has only default fields has no bytes, but a type.
    const emptyPayload = create(MachineEventSchema, {
      id: "d0abd",
      data: { typeUrl: "talos/runtime/machine.SequenceEvent" },
    });
    const untyped = create(MachineEventSchema, {
      id: "d0abe",
      data: { value: new Uint8Array([8, 1]) },
    });
    expect(isHelloEvent(talosHello)).toBe(true);
    expect(isHelloEvent(simHello)).toBe(true);
    expect(isHelloEvent(emptyPayload)).toBe(false);
    expect(isHelloEvent(untyped)).toBe(false);
  });
});
