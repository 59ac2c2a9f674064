// How CLI commands print results: a table for people (the default), or json
// and yaml for scripts. Commands build rows of plain data and never format
// them themselves, so that every command supports every format alike.
//
// json and yaml have talosctl's shapes: a list prints one item per document,
// a stream of JSON objects (each indented by 4 spaces, keys sorted, as Go's
// encoder writes a map) or `---`-separated YAML documents written as Go's
// YAML encoder writes them, so that a string such as `0000:17:00.0`, `yes`
// or `012` is quoted and reads back as a string under YAML 1.1 and 1.2.
//
// `jsonpath=EXPR` (talosctl's `-o jsonpath='{.spec.x}'`) prints the template's
// text for each document, one line each. Table headers are bold when stdout is
// a terminal and NO_COLOR is unset (see colour.ts).
import { emitGoYaml, type GoNode } from "@taloskit/factory";
import { Option } from "commander";
import { bold } from "./colour.js";
import { FlagError, quotedFlag } from "./errors.js";
import { parseJsonPath } from "./jsonpath.js";

export const OUTPUT_FORMATS = ["table", "json", "yaml", "jsonpath"] as const;
/** An output format: `jsonpath=` carries its template. */
export type OutputFormat = "table" | "json" | "yaml" | `jsonpath=${string}`;

/** Reads `-o`: table, json, yaml or jsonpath=TEMPLATE (checked here, a JsonPathError if bad). */
export function parseOutputFormat(value: string): OutputFormat {
  if (value === "table" || value === "json" || value === "yaml") return value;
  if (typeof value === "string" && value.startsWith("jsonpath=")) {
    parseJsonPath(value.slice("jsonpath=".length));
    return value as OutputFormat;
  }
  throw new FlagError(
    `unknown output format ${quotedFlag(value)}: use one of table, json, yaml, jsonpath=TEMPLATE`,
  );
}

/** The `-o, --output` option, for a command that has its own (checked as it is read). */
export function outputOption(): Option {
  return new Option(
    "-o, --output <format>",
    "output format: table, json, yaml or jsonpath=TEMPLATE (e.g. jsonpath={.spec})",
  )
    .argParser((value: string) => parseOutputFormat(value))
    .default("table");
}

export interface Column<Row> {
  header: string;
  value: (row: Row) => unknown;
}

/**
 * Renders `data` as json or yaml (an array prints one document per item); in
 * table format, renders `rows` under `columns`.
 */
export function render<Row>(
  format: OutputFormat,
  data: unknown,
  table?: { rows: Row[]; columns: Column<Row>[] },
): string {
  const docs = Array.isArray(data) ? data : [data];
  if (format.startsWith("jsonpath=")) {
    const path = parseJsonPath(format.slice("jsonpath=".length));
    return docs.map((d) => `${path.evaluate(toJsonValue(d))}\n`).join("");
  }
  if (format === "json") return docs.map(renderJson).join("");
  if (format === "yaml" || !table) return docs.map(renderYaml).join("---\n");
  return renderTable(table.rows, table.columns);
}

/** One JSON document as talosctl writes it: 4-space indent, sorted keys, HTML characters escaped. */
export function renderJson(value: unknown): string {
  const text = JSON.stringify(toJsonValue(value), null, 4) ?? "null";
  return `${text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`;
}

/** One YAML document as Go's YAML encoder writes it (without a `---` line). */
export function renderYaml(value: unknown): string {
  return emitGoYaml(toGoNode(value));
}

export function renderTable<Row>(rows: Row[], columns: Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((r) => (r[i] ?? "").length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return `${[bold(line(columns.map((c) => c.header)), "stdout"), ...cells.map(line)].join("\n")}\n`;
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map(cellText).join(",");
  if (value instanceof Date) return goTime(value);
  if (typeof value === "object") return JSON.stringify(toJsonValue(value));
  return String(value);
}

/** Go's RFC 3339 form of a time (time.RFC3339Nano): no fraction when it is zero. */
function goTime(date: Date): string {
  return date
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : "Z"));
}

const bytesText = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** What JSON.stringify would print for an object: its toJSON() if it has one. */
function unwrap(value: unknown): unknown {
  const v = value as { toJSON?: () => unknown } | null;
  return v && typeof v === "object" && !(v instanceof Date) && typeof v.toJSON === "function"
    ? v.toJSON()
    : value;
}

/** Entries as JSON.stringify would keep them: `undefined` and functions are dropped. */
function entries(value: object): [string, unknown][] {
  return Object.entries(value).filter(([, x]) => x !== undefined && typeof x !== "function");
}

/**
 * Plain JSON data with map keys sorted, as Go's encoder writes a map. bigint and
 * Uint8Array have no JSON form: bigints print as numbers when safe, bytes as base64.
 */
function toJsonValue(input: unknown): unknown {
  const value = unwrap(input);
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value === undefined || value === null || typeof value !== "object") {
    return typeof value === "number" && !Number.isFinite(value) ? null : (value ?? null);
  }
  if (value instanceof Date) return goTime(value);
  if (value instanceof Uint8Array) return bytesText(value);
  if (Array.isArray(value)) return value.map(toJsonValue);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[k] = toJsonValue(v);
  }
  return out;
}

/** The Go value a JSON-like value would be: maps keep their key order. */
function toGoNode(input: unknown): GoNode {
  const value = unwrap(input);
  switch (typeof value) {
    case "string":
      return { kind: "str", value };
    case "bigint":
      return { kind: "int", value };
    case "boolean":
      return { kind: "bool", value };
    case "number":
      return Number.isSafeInteger(value)
        ? { kind: "int", value: BigInt(value) }
        : { kind: "float", value };
  }
  if (value === null || typeof value !== "object") return { kind: "null" };
  if (value instanceof Date) return { kind: "timestamp", value: goTime(value) };
  if (value instanceof Uint8Array) return { kind: "str", value: bytesText(value) };
  if (Array.isArray(value)) return { kind: "seq", items: value.map(toGoNode) };
  return { kind: "map", entries: entries(value).map(([k, v]) => [k, toGoNode(v)]) };
}
