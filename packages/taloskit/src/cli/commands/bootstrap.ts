// `taloskit bootstrap`: start etcd on one control-plane node, once per cluster
// (talosctl's `bootstrap`; a second call is refused by the node).
import { Command } from "commander";
import { type CommandIO, processIO, withGlobalFlags } from "../globals.js";
import { callOf, onEachNode, printRows, singleNode } from "./node-action.js";

/** The `bootstrap` command. */
export function bootstrapCommand(io: CommandIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("bootstrap").description(
      "bootstrap the etcd cluster on one control-plane node (once, on a new cluster)",
    ),
  ).option(
    "--recover-skip-hash-check",
    "with a snapshot uploaded by `etcd recover`: skip its integrity check",
  );
  return cmd.action(async (opts: { recoverSkipHashCheck?: boolean }) => {
    const { flags, results } = await onEachNode(
      cmd,
      io,
      async (t) => {
        await t.services.machine.bootstrap(
          { recoverSkipHashCheck: opts.recoverSkipHashCheck === true },
          callOf(t),
        );
        return { bootstrapped: true };
      },
      singleNode("bootstrap"),
    );
    if (flags.output !== "table")
      printRows(
        io,
        flags,
        results.map(({ node, value }) => ({ node, ...value })),
        [],
      );
  });
}
