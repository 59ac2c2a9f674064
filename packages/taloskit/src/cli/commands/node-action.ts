// What the commands that act on nodes share: run a call on every target node
// (bounded fan-out), report each node's failure as one line naming it, and
// print the successes with -o table|json|yaml.

import { resolve } from "node:path";
import type { TalosClient, TalosServices } from "@taloskit/client";
import { type Command, Option } from "commander";
import {
  type CommandIO,
  connectTargets,
  type GlobalFlags,
  globalFlags,
  userDirectory,
} from "../globals.js";
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
  options?: { concurrency?: number },
): Promise<{ flags: GlobalFlags; results: { node: string; value: T }[] }> {
  const flags = globalFlags(cmd);
  before?.(flags);
  const targets = await connectTargets(flags, io);
  try {
    const all = await targets.each(
      (client, node, signal) => fn({ client, node, services: client.services(node), signal }),
      options,
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

/** A `before` check of {@link onEachNode} for commands that act on exactly one node. */
export function singleNode(command: string): (flags: GlobalFlags) => void {
  return (flags) => {
    if ((flags.nodes?.length ?? 0) > 1)
      throw new Error(
        `${command} works on one node at a time: pass one with -n (got ${flags.nodes?.join(", ")})`,
      );
  };
}

/** A path as the user typed it, made absolute against the directory they ran taloskit in. */
export function userPath(env: Record<string, string | undefined>, path: string): string {
  return resolve(userDirectory(env, process.cwd()), path);
}

/**
 * A boolean flag taken as talosctl's are: `--name`, `--name=true` or
 * `--name=false` (`flags` is `--name` or `-n, --name`).
 */
export function boolOption(flags: string, description: string, fallback: boolean): Option {
  const flag = flags.replace(/^.*--/, "");
  return new Option(`${flags} [bool]`, `${description} (default ${fallback})`)
    .preset("true")
    .default(fallback)
    .argParser((v: string) => {
      if (/^(true|1|t)$/i.test(v)) return true;
      if (/^(false|0|f)$/i.test(v)) return false;
      throw new Error(`--${flag} takes true or false, not "${v}"`);
    });
}
