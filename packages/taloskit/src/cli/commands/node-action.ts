// What the commands that act on nodes share: run a call on every target node
// (bounded fan-out), report each node's failure as one line naming it, and
// print the successes with -o table|json|yaml.
import type { TalosClient, TalosServices } from "@taloskit/client";
import type { Command } from "commander";
import { type CommandIO, connectTargets, type GlobalFlags, globalFlags } from "../globals.js";
import { type Column, render } from "../output.js";

/** One target node as an action sees it. */
export interface NodeTarget {
  client: TalosClient;
  /** The node as named on the command line (undefined: the endpoint's own node). */
  node: string | undefined;
  /** The node's services. */
  services: TalosServices;
  signal: AbortSignal;
}

/** Deadline of each unary call (ms). */
export const CALL_TIMEOUT_MS = 30_000;

/** The call options of a target: its signal and the unary deadline. */
export const callOf = (t: NodeTarget) => ({ signal: t.signal, timeoutMs: CALL_TIMEOUT_MS });

/**
 * Runs `fn` on every target of `cmd`'s global flags; failures are printed as
 * `taloskit: <node>: <reason>` and set exit code 1. Returns the successes, in
 * the order of the nodes, with the flags.
 */
export async function onEachNode<T>(
  cmd: Command,
  io: CommandIO,
  fn: (t: NodeTarget) => Promise<T>,
  before?: (flags: GlobalFlags) => void,
): Promise<{ flags: GlobalFlags; results: { node: string; value: T }[] }> {
  const flags = globalFlags(cmd);
  before?.(flags);
  const targets = await connectTargets(flags, io);
  try {
    const all = await targets.each((client, node, signal) =>
      fn({ client, node, services: client.services(node), signal }),
    );
    const results: { node: string; value: T }[] = [];
    for (const r of all) {
      if ("error" in r) {
        io.stderr(`taloskit: ${r.node}: ${r.error.message.trim().replace(/\s*\n\s*/g, " ")}\n`);
        process.exitCode = 1;
      } else results.push(r);
    }
    return { flags, results };
  } finally {
    targets.close();
  }
}

/** Prints rows as a table under `columns`, or as json/yaml documents. */
export function printRows<Row>(
  io: Pick<CommandIO, "stdout">,
  flags: GlobalFlags,
  rows: Row[],
  columns: Column<Row>[],
): void {
  if (!rows.length && flags.output === "table") return;
  io.stdout(render(flags.output, rows, { rows, columns }));
}
