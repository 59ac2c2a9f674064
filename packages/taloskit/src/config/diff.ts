// Structured and unified diffs between two configs. The text diff is jsdiff's
// (Myers, O((N+M)·D)): a small change to a huge config costs little.
import { structuredPatch } from "diff";

/** One changed value, named by document id and dotted path. */
export interface ConfigChange {
  document: string;
  path: string;
  op: "add" | "remove" | "replace";
  before?: unknown;
  after?: unknown;
}

/**
 * What a merge changed: per-path changes, and a unified text diff of the YAML
 * (computed when first read).
 */
export interface ConfigDiff {
  changes: ConfigChange[];
  addedDocuments: string[];
  removedDocuments: string[];
  unified: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function walk(document: string, path: string, a: unknown, b: unknown, out: ConfigChange[]): void {
  if (isObject(a) && isObject(b)) {
    for (const k of Object.keys(a)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in b)) out.push({ document, path: p, op: "remove", before: a[k] });
      else walk(document, p, a[k], b[k], out);
    }
    for (const k of Object.keys(b)) {
      if (!(k in a))
        out.push({ document, path: path ? `${path}.${k}` : k, op: "add", after: b[k] });
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push({ document, path, op: "replace", before: a, after: b });
  }
}

/** Compares documents by id; `before` and `after` map document ids to plain values. */
export function diffDocuments(
  before: ReadonlyMap<string, unknown>,
  after: ReadonlyMap<string, unknown>,
  beforeText: string,
  afterText: string,
): ConfigDiff {
  const changes: ConfigChange[] = [];
  const addedDocuments: string[] = [];
  const removedDocuments: string[] = [];
  for (const [id, value] of before) {
    if (!after.has(id)) removedDocuments.push(id);
    else walk(id, "", value, after.get(id), changes);
  }
  for (const id of after.keys()) if (!before.has(id)) addedDocuments.push(id);
  // The text diff is worked out when first read, once: a caller that diffs
  // other texts (redactDiff on masked ones) never pays for this one.
  let unified: string | undefined;
  return {
    changes,
    addedDocuments,
    removedDocuments,
    get unified() {
      unified ??= unifiedDiff(beforeText, afterText);
      return unified;
    },
  };
}

/**
 * A unified diff (3 lines of context) of two texts; empty when they are equal.
 * Lines are compared whole; a missing final newline is not a change.
 */
export function unifiedDiff(
  a: string,
  b: string,
  names = { from: "current", to: "patched" },
): string {
  if (a === b) return "";
  const patch = structuredPatch(names.from, names.to, withNewline(a), withNewline(b), "", "", {
    context: 3,
  });
  const out = [`--- ${names.from}`, `+++ ${names.to}`];
  for (const hunk of patch.hunks) {
    // An empty side is numbered by the line before it, as diff -u does.
    const from = hunk.oldLines ? hunk.oldStart : hunk.oldStart - 1;
    const to = hunk.newLines ? hunk.newStart : hunk.newStart - 1;
    out.push(`@@ -${from},${hunk.oldLines} +${to},${hunk.newLines} @@`, ...hunk.lines);
  }
  return `${out.join("\n")}\n`;
}

function withNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}
