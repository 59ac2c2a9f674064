// How CLI commands print results: a table for people (the default), or json
// and yaml for scripts. Commands build rows of plain data and never format
// them themselves, so that every command supports every format alike.
import { stringify } from "yaml";

export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new Error(`unknown output format "${value}": use one of ${OUTPUT_FORMATS.join(", ")}`);
}

export interface Column<Row> {
  header: string;
  value: (row: Row) => unknown;
}

/** Renders `data` as json or yaml; in table format, renders `rows` under `columns`. */
export function render<Row>(
  format: OutputFormat,
  data: unknown,
  table?: { rows: Row[]; columns: Column<Row>[] },
): string {
  if (format === "json") return `${JSON.stringify(data, jsonReplacer, 2)}\n`;
  if (format === "yaml" || !table) return stringify(toPlain(data), { lineWidth: 0 });
  return renderTable(table.rows, table.columns);
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
  return `${[line(columns.map((c) => c.header)), ...cells.map(line)].join("\n")}\n`;
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map(cellText).join(",");
  if (typeof value === "object") return JSON.stringify(toPlain(value));
  return String(value);
}

/** bigint and Uint8Array have no JSON form: print bigints as numbers when safe, bytes as base64. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return value;
}

function toPlain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, jsonReplacer) ?? "null");
}
