// `taloskit service <id> start|stop|restart`: control a system service of the
// nodes (talosctl's `service`); `service` itself (list and status) is services.ts.
import type { Command } from "commander";
import { type CommandIO, processIO } from "../globals.js";
import { callOf, onEachNode, printRows } from "./node-action.js";
import type { ServiceAction } from "./services.js";

interface ResponseRow {
  node: string;
  response: string;
}

type Control = "start" | "stop" | "restart";

/** talosctl's service start, stop and restart, as actions of the `service` command. */
export function serviceControl(io: CommandIO = processIO): Record<Control, ServiceAction> {
  const control =
    (action: Control): ServiceAction =>
    async (id: string, cmd: Command) => {
      const { flags, results } = await onEachNode(cmd, io, async (t) => {
        const m = t.services.machine;
        const res =
          action === "start"
            ? await m.serviceStart({ id }, callOf(t))
            : action === "stop"
              ? await m.serviceStop({ id }, callOf(t))
              : await m.serviceRestart({ id }, callOf(t));
        return res.messages[0]?.resp ?? "";
      });
      const rows = results.map(({ node, value }): ResponseRow => ({ node, response: value }));
      printRows(io, flags, rows, [
        { header: "NODE", value: (r) => r.node },
        { header: "RESPONSE", value: (r) => r.response },
      ]);
    };
  return { start: control("start"), stop: control("stop"), restart: control("restart") };
}
