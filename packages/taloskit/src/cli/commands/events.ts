// `taloskit events [--tail N] [--since ID] [--duration D] [--actor-id ID]`:
// the machine events of every node as they happen, in talosctl's columns,
// until Ctrl-C (which ends the server streams).
import { type JsonObject, toJson } from "@bufbuild/protobuf";
import { apiRegistry } from "@taloskit/api/registry";
import type { DecodedEvent } from "@taloskit/client";
import type { Command } from "commander";
import { parseDuration, processIO } from "../globals.js";
import {
  nodeCommand,
  nodeLabel,
  reportNodes,
  type StreamIO,
  streamPrinter,
  withTargets,
} from "./node-shell.js";

/** An event as printed. */
export interface EventRow {
  node: string;
  id: string;
  actorId: string;
  /** The payload's type URL, e.g. `talos/runtime/machine.SequenceEvent`. */
  type: string;
  payload: JsonObject;
}

/** The payload as JSON (enum names as strings), or {} when this client does not know its type. */
function payloadJson(e: DecodedEvent): JsonObject {
  if (!e.payload) return {};
  const schema = apiRegistry.getMessage(e.payload.$typeName);
  return schema ? (toJson(schema, e.payload, { registry: apiRegistry }) as JsonObject) : {};
}

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));

/** talosctl's SOURCE and MESSAGE columns of an event. */
export function describeEvent(type: string, p: JsonObject): { source: string; message: string } {
  const err = p.error as JsonObject | undefined;
  switch (type.slice(type.lastIndexOf("/") + 1)) {
    case "machine.SequenceEvent":
      return {
        source: str(p.sequence),
        message: err ? `error: ${str(err.message)}` : str(p.action ?? "NOOP"),
      };
    case "machine.PhaseEvent":
      return { source: str(p.phase), message: str(p.action ?? "START") };
    case "machine.TaskEvent":
      return { source: str(p.task), message: str(p.action ?? "START") };
    case "machine.ServiceStateEvent":
      return {
        source: str(p.service),
        message: `${str(p.action ?? "INITIALIZED")}: ${str(p.message)}`,
      };
    case "machine.ConfigLoadErrorEvent":
    case "machine.ConfigValidationErrorEvent":
      return { source: "", message: str(p.error) };
    case "machine.AddressEvent":
      return {
        source: str(p.hostname),
        message: Array.isArray(p.addresses) ? p.addresses.join(", ") : "",
      };
    case "machine.MachineStatusEvent": {
      const status = (p.status ?? {}) as JsonObject;
      return {
        source: "",
        message: `${str(p.stage ?? "UNKNOWN")} ready: ${status.ready === true}`,
      };
    }
    default:
      return { source: "", message: JSON.stringify(p) };
  }
}

/** `taloskit events`. */
export function eventsCommand(io: StreamIO = processIO): Command {
  const cmd = nodeCommand("events", "stream runtime events")
    .option("--tail <n>", "show this many past events first (-1: all)", (v) => {
      if (!/^-?\d+$/.test(v)) throw new Error(`--tail takes a whole number, not "${v}"`);
      return Number(v);
    })
    .option("--since <id>", "show the events after this event ID")
    .option("--duration <d>", "show the events of the past duration (e.g. 10m)")
    .option("--actor-id <id>", "only the events of this actor");
  return cmd.action(
    (opts: { tail?: number; since?: string; duration?: string; actorId?: string }) => {
      const tailSeconds = opts.duration ? Math.round(parseDuration(opts.duration) / 1000) : 0;
      return withTargets(cmd, io, async ({ flags, targets, signal: interrupt }) => {
        const print = streamPrinter<EventRow>(flags.output, io, [
          { header: "NODE", value: (r) => r.node },
          { header: "ID", value: (r) => r.id },
          { header: "EVENT", value: (r) => r.type },
          { header: "ACTOR", value: (r) => r.actorId },
          { header: "SOURCE", value: (r) => describeEvent(r.type, r.payload).source },
          { header: "MESSAGE", value: (r) => describeEvent(r.type, r.payload).message },
        ]);
        const results = await targets.each(
          async (client, node, signal) => {
            const label = nodeLabel(client, node);
            for await (const e of client.streams.events(
              {
                tailEvents: opts.tail ?? 0,
                tailId: opts.since ?? "",
                tailSeconds,
                withActorId: opts.actorId ?? "",
              },
              { node, signal },
            )) {
              print({
                node: label,
                id: e.id,
                actorId: e.actorId,
                type: e.event.data?.typeUrl ?? e.type,
                payload: payloadJson(e),
              });
            }
          },
          // Every node's stream stays open side by side.
          { concurrency: Math.max(1, targets.nodes.length) },
        );
        reportNodes(results, io, interrupt);
      });
    },
  );
}
