// What the read-only day-2 commands share: connecting to the target nodes,
// one line on stderr per node that failed, tables of rows gathered from every
// node, streams that stop on Ctrl-C, and the node-prefixed lines that
// talosctl prints for logs and kernel messages.
import type { NodeResult, TalosClient, TalosServices } from "@taloskit/client";
import { Command } from "commander";
import {
  type CommandIO,
  connectTargets,
  type GlobalFlags,
  globalFlags,
  processIO,
  type Targets,
  withGlobalFlags,
} from "../globals.js";
import { type Column, type OutputFormat, render, renderJson, renderYaml } from "../output.js";

/** A command's IO, plus a signal that ends its streams (tests; the process's Ctrl-C otherwise). */
export interface StreamIO extends CommandIO {
  signal?: AbortSignal;
}

/** What a node command's action gets. */
export interface NodeRun {
  flags: GlobalFlags;
  targets: Targets;
  /** Fires on Ctrl-C (SIGINT), SIGTERM or the IO's own signal (which every `targets.each` call follows). */
  signal: AbortSignal;
}

/** A new command with the global flags. */
export function nodeCommand(name: string, description: string): Command {
  return withGlobalFlags(new Command(name).description(description));
}

/** A signal that fires on SIGINT/SIGTERM or `outer`; release() removes the handlers. */
export function interruptSignal(outer?: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (outer?.aborted) stop();
  outer?.addEventListener("abort", stop, { once: true });
  return {
    signal: controller.signal,
    release() {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      outer?.removeEventListener("abort", stop);
    },
  };
}

/**
 * Runs `action` on the targets of `cmd`'s global flags and closes them after;
 * streams end on Ctrl-C.
 */
export async function withTargets(
  cmd: Command,
  io: StreamIO,
  action: (run: NodeRun) => Promise<void>,
): Promise<void> {
  const flags = globalFlags(cmd);
  const targets = await connectTargets(flags, io);
  const interrupt = interruptSignal(io.signal);
  // Every call on the targets ends on Ctrl-C too.
  const each: Targets["each"] = (fn, options) =>
    targets.each(
      (client, node, signal) => fn(client, node, AbortSignal.any([signal, interrupt.signal])),
      options,
    );
  try {
    await action({ flags, targets: { ...targets, each }, signal: interrupt.signal });
  } finally {
    interrupt.release();
    targets.close();
  }
}

/** Whether an error is only the end the user asked for (Ctrl-C). */
function interrupted(error: Error, signal: AbortSignal): boolean {
  return signal.aborted && /cancel|abort|interrupt/i.test(`${error.message} ${error.name}`);
}

/**
 * Writes one line per failed node on stderr (`taloskit: <node>: <reason>`) and
 * sets exit code 1; returns the values of the nodes that answered. A stream
 * the user ended with Ctrl-C is no failure.
 */
export function reportNodes<T>(
  results: NodeResult<T>[],
  io: CommandIO,
  signal?: AbortSignal,
): { node: string; value: T }[] {
  const ok: { node: string; value: T }[] = [];
  for (const r of results) {
    if (!("error" in r)) ok.push(r);
    else if (!(signal && interrupted(r.error, signal))) {
      const message = r.error.message.trim().replace(/\s*\n\s*/g, " ");
      const named = message.includes(r.node) ? message : `${r.node}: ${message}`;
      io.stderr(`taloskit: ${named}\n`);
      process.exitCode = 1;
    }
  }
  return ok;
}

/** A protobuf message as plain data (without its `$typeName` and `$unknown`). */
export type Plain<M> = Omit<M, "$typeName" | "$unknown">;

/** `message` as plain data, for rows that print as json/yaml. */
export function plain<M extends object>(message: M): Plain<M> {
  const {
    $typeName: _t,
    $unknown: _u,
    ...rest
  } = message as M & {
    $typeName?: unknown;
    $unknown?: unknown;
  };
  return rest as Plain<M>;
}

/** What each node answers, turned into rows (`services` are the node's own). */
export type RowsOf<Row> = (
  services: TalosServices,
  node: string,
  signal: AbortSignal,
) => Promise<Row[]>;

/**
 * A table command's whole run: rows from every node (bounded fan-out), printed
 * as a table under `columns` or as json/yaml documents of `data(row)` (the row
 * itself by default); one stderr line per node that failed.
 */
export async function printNodeRows<Row extends { node: string }>(
  cmd: Command,
  io: StreamIO = processIO,
  rowsOf: RowsOf<Row>,
  columns: Column<Row>[],
  data: (row: Row) => unknown = (row) => row,
): Promise<void> {
  await withTargets(cmd, io, async ({ flags, targets, signal: interrupt }) => {
    const results = await targets.each((client, node, signal) =>
      rowsOf(client.services(node), nodeLabel(client, node), signal),
    );
    const rows = reportNodes(results, io, interrupt).flatMap((r) => r.value);
    if (rows.length || flags.output === "table")
      io.stdout(render(flags.output, rows.map(data), { rows, columns }));
  });
}

/** The name of a target as printed: the node, or the endpoint when none was named. */
export function nodeLabel(client: TalosClient, node: string | undefined): string {
  return node ?? client.endpoints[0] ?? "";
}

/**
 * Prints a stream's records as they come: in a table, a header before the
 * first record and each record's cells after it; in json/yaml, one document each.
 */
export function streamPrinter<Row>(
  format: OutputFormat,
  io: CommandIO,
  columns: Column<Row>[],
  data: (row: Row) => unknown = (row) => row,
): (row: Row) => void {
  let first = true;
  return (row) => {
    if (format === "json") io.stdout(renderJson(data(row)));
    else if (format === "yaml") io.stdout(`${first ? "" : "---\n"}${renderYaml(data(row))}`);
    else {
      const cells = columns.map((c) => cellOf(c.value(row)));
      const head = columns.map((c) => c.header);
      if (first) {
        const widths = head.map((h, i) => Math.max(h.length, (cells[i] ?? "").length));
        const pad = (vs: string[]) =>
          vs.map((v, i) => (i === vs.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join("   ");
        io.stdout(`${pad(head)}\n${pad(cells).trimEnd()}\n`);
      } else io.stdout(`${cells.join("   ").trimEnd()}\n`);
    }
    first = false;
  };
}

/** Bytes as go-humanize's SI form (`700 MB`, `4.2 kB`), as talosctl's ps prints them. */
export function humanBytes(n: bigint | number): string {
  const v = Number(n);
  if (v < 10) return `${v} B`;
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.min(Math.floor(Math.log10(v) / 3), units.length - 1);
  const scaled = Math.floor((v / 1000 ** e) * 10 + 0.5) / 10;
  return `${scaled < 10 ? scaled.toFixed(1) : scaled.toFixed(0)} ${units[e]}`;
}

function cellOf(value: unknown): string {
  if (value === undefined || value === null) return "";
  return String(value);
}

/**
 * Splits a byte stream into lines (a chunk may end mid-line) and hands each
 * complete line to `line`; the last unterminated line is handed over at the end.
 */
export async function eachLine(
  chunks: AsyncIterable<Uint8Array>,
  line: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of chunks) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) line(l);
  }
  rest += decoder.decode();
  if (rest) line(rest);
}

/**
 * talosctl's log printing: every line of every node's stream as
 * `<node>: <line>` (json/yaml: `{node, message}` documents), nodes read side
 * by side; ends when every stream has ended or Ctrl-C is pressed.
 */
export async function printNodeLines(
  run: NodeRun,
  io: CommandIO,
  follow: boolean,
  open: (
    client: TalosClient,
    node: string | undefined,
    signal: AbortSignal,
  ) => AsyncIterable<Uint8Array>,
): Promise<void> {
  const print = streamPrinter<{ node: string; message: string }>(
    run.flags.output,
    io,
    [],
    (r) => r,
  );
  const results = await run.targets.each(
    async (client, node, signal) => {
      const label = nodeLabel(client, node);
      await eachLine(open(client, node, signal), (message) =>
        run.flags.output === "table"
          ? io.stdout(`${label}: ${message}\n`)
          : print({ node: label, message }),
      );
    },
    // Following, every node's stream stays open side by side.
    follow ? { concurrency: Math.max(1, run.targets.nodes.length) } : {},
  );
  reportNodes(results, io, run.signal);
}
