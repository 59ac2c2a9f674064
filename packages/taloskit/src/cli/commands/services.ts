// `taloskit service [<id> [status]]` (alias `services`): the Talos services
// of each node, as talosctl lists and describes them.
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import type { ServiceInfo } from "@taloskit/api/machine";
import type { TalosServices } from "@taloskit/client";
import type { Command } from "commander";
import { type CommandIO, processIO } from "../globals.js";
import { type Column, renderJson, renderYaml } from "../output.js";
import {
  nodeCommand,
  printNodeRows,
  reportNodes,
  type StreamIO,
  withTargets,
} from "./node-shell.js";

/** A service as printed. */
export interface ServiceRow {
  node: string;
  id: string;
  state: string;
  health: { unknown: boolean; healthy: boolean; lastMessage: string; lastChange?: Date };
  events: { msg: string; state: string; ts?: Date }[];
}

const dateOf = (t: Timestamp | undefined) => (t ? timestampDate(t) : undefined);

function serviceRow(node: string, s: ServiceInfo): ServiceRow {
  return {
    node,
    id: s.id,
    state: s.state,
    health: {
      unknown: s.health?.unknown ?? true,
      healthy: s.health?.healthy ?? false,
      lastMessage: s.health?.lastMessage ?? "",
      lastChange: dateOf(s.health?.lastChange),
    },
    events: (s.events?.events ?? []).map((e) => ({ msg: e.msg, state: e.state, ts: dateOf(e.ts) })),
  };
}

/** talosctl's health word: `OK`, `Fail` or `?` when the service has no health check. */
function healthText(r: ServiceRow): string {
  if (r.health.unknown) return "?";
  return r.health.healthy ? "OK" : "Fail";
}

/** A Go-style rounded duration since `date` (`19m27s ago`). */
export function ago(date: Date | undefined, now = Date.now()): string {
  if (!date) return "";
  let s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s ago`;
}

/** The services of one node. */
async function listServices(
  services: TalosServices,
  node: string,
  signal: AbortSignal,
): Promise<ServiceRow[]> {
  const reply = await services.machine.serviceList({}, { signal, timeoutMs: 60_000 });
  return reply.messages.flatMap((m) => m.services.map((s) => serviceRow(node, s)));
}

const LIST_COLUMNS: Column<ServiceRow>[] = [
  { header: "NODE", value: (r) => r.node },
  { header: "SERVICE", value: (r) => r.id },
  { header: "STATE", value: (r) => r.state },
  { header: "HEALTH", value: healthText },
  { header: "LAST CHANGE", value: (r) => ago(r.events.at(-1)?.ts) },
  { header: "LAST EVENT", value: (r) => r.events.at(-1)?.msg ?? "<none>" },
];

/** A service's details as talosctl prints them: one `KEY   value` line each, events under it. */
function describe(r: ServiceRow): string {
  const lines: [string, string][] = [
    ["NODE", r.node],
    ["ID", r.id],
    ["STATE", r.state],
    ["HEALTH", healthText(r)],
  ];
  if (r.health.lastMessage) lines.push(["LAST HEALTH MESSAGE", r.health.lastMessage]);
  const events = [...r.events].reverse();
  for (const [i, e] of events.entries())
    lines.push([i === 0 ? "EVENTS" : "", `[${e.state}]: ${e.msg} (${ago(e.ts)})`]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}   ${v}\n`).join("");
}

/** A service action other than status (start, stop, restart), run on the targets of `cmd`. */
export type ServiceAction = (id: string, cmd: Command) => Promise<void>;

/**
 * `taloskit service [id] [status]` (alias `services`): without an ID, every
 * service of every node; with one, its details. `actions` adds talosctl's
 * other actions (start, stop, restart) from the commands that own them.
 */
export function serviceCommand(
  io?: StreamIO,
  actions: Record<string, ServiceAction> = {},
): Command {
  const cmd = nodeCommand(
    "service",
    "show the services of nodes or one service's status; start, stop or restart one",
  )
    .alias("services")
    .argument("[id]", "service ID")
    .argument("[action]", ["status", ...Object.keys(actions)].join("|"), "status");
  return cmd.action(async (id: string | undefined, action: string) => {
    const other = actions[action];
    if (action !== "status" && !other) {
      const known = [...Object.keys(actions), "status"].join(", ");
      throw new Error(`unknown service action "${action}": use one of ${known}`);
    }
    if (!id) {
      if (other) throw new Error(`service ${action} needs a service ID`);
      return printNodeRows<ServiceRow>(cmd, io, listServices, LIST_COLUMNS);
    }
    if (other) return other(id, cmd);
    const out: CommandIO = io ?? processIO;
    await withTargets(cmd, out, async ({ flags, targets, signal: interrupt }) => {
      const results = await targets.each(async (client, node, signal) => {
        const label = node ?? client.endpoints[0] ?? "";
        const rows = await listServices(client.services(node), label, signal);
        return rows.find((r) => r.id === id);
      });
      const rows: ServiceRow[] = [];
      for (const { node, value } of reportNodes(results, out, interrupt)) {
        if (value) rows.push(value);
        else {
          out.stderr(`taloskit: ${node}: service "${id}" is not registered\n`);
          process.exitCode = 1;
        }
      }
      for (const [i, r] of rows.entries()) {
        if (flags.output === "json") out.stdout(renderJson(r));
        else if (flags.output === "yaml") out.stdout(`${i ? "---\n" : ""}${renderYaml(r)}`);
        else out.stdout(`${i ? "\n" : ""}${describe(r)}`);
      }
    });
  });
}
