// `taloskit service <id> start|stop|restart|status`: control a system service
// of the nodes (talosctl's `service`), or show its state.
import { Command } from "commander";
import { type CommandIO, processIO, withGlobalFlags } from "../globals.js";
import { callOf, onEachNode, printRows } from "./node-action.js";

const ACTIONS = ["start", "stop", "restart", "status"] as const;
type Action = (typeof ACTIONS)[number];

interface ResponseRow {
  node: string;
  response: string;
}

interface StatusRow {
  node: string;
  id: string;
  state: string;
  health: string;
}

/** The `service` command. */
export function serviceCommand(io: CommandIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("service")
      .description("start, stop or restart a service of the nodes, or show its state")
      .argument("<id>", "service ID, e.g. kubelet")
      .argument("[action]", `one of ${ACTIONS.join(", ")}`, "status"),
  );
  return cmd.action(async (id: string, action: string) => {
    if (!(ACTIONS as readonly string[]).includes(action))
      throw new Error(`unknown service action "${action}": use one of ${ACTIONS.join(", ")}`);
    if ((action as Action) === "status") {
      const { flags, results } = await onEachNode(cmd, io, async (t) => {
        const res = await t.services.machine.serviceList({}, callOf(t));
        const svc = res.messages[0]?.services.find((s) => s.id === id);
        if (!svc) throw new Error(`service "${id}" not defined`);
        return svc;
      });
      const rows = results.map(
        ({ node, value: s }): StatusRow => ({
          node,
          id: s.id,
          state: s.state,
          health: s.health?.unknown ? "?" : s.health?.healthy ? "OK" : "Fail",
        }),
      );
      printRows(io, flags, rows, [
        { header: "NODE", value: (r) => r.node },
        { header: "ID", value: (r) => r.id },
        { header: "STATE", value: (r) => r.state },
        { header: "HEALTH", value: (r) => r.health },
      ]);
      return;
    }
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
  });
}
