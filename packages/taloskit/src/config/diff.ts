// Structured and unified diffs between two configs.

/** One changed value, named by document id and dotted path. */
export interface ConfigChange {
  document: string;
  path: string;
  op: "add" | "remove" | "replace";
  before?: unknown;
  after?: unknown;
}

/** What a merge changed: per-path changes, and a unified text diff of the YAML. */
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
  return {
    changes,
    addedDocuments,
    removedDocuments,
    unified: unifiedDiff(beforeText, afterText),
  };
}

/** A unified diff (3 lines of context) of two texts; empty when they are equal. */
export function unifiedDiff(
  a: string,
  b: string,
  names = { from: "current", to: "patched" },
): string {
  if (a === b) return "";
  const x = a.split("\n");
  const y = b.split("\n");
  if (x[x.length - 1] === "") x.pop();
  if (y[y.length - 1] === "") y.pop();
  // Longest common subsequence table from the end, then a forward walk.
  const n = x.length;
  const m = y.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const next = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) {
      row[j] =
        x[i] === y[j]
          ? (next[j + 1] as number) + 1
          : Math.max(next[j] as number, row[j + 1] as number);
    }
  }
  type Line = { tag: " " | "-" | "+"; text: string; ai: number; bi: number };
  const lines: Line[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      lines.push({ tag: " ", text: x[i] as string, ai: i++, bi: j++ });
    } else if (i < n && (j >= m || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) {
      lines.push({ tag: "-", text: x[i] as string, ai: i++, bi: j });
    } else {
      lines.push({ tag: "+", text: y[j] as string, ai: i, bi: j++ });
    }
  }
  const out = [`--- ${names.from}`, `+++ ${names.to}`];
  const context = 3;
  let k = 0;
  while (k < lines.length) {
    if (lines[k]?.tag === " ") {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    // extend the hunk while changes are within 2*context lines of each other
    while (end < lines.length) {
      let look = end;
      while (look < lines.length && lines[look]?.tag !== " ") look++;
      let gap = look;
      while (gap < lines.length && lines[gap]?.tag === " ") gap++;
      if (gap < lines.length && gap - look <= 2 * context) end = gap;
      else {
        end = Math.min(lines.length, look + context);
        break;
      }
    }
    const hunk = lines.slice(start, end);
    const first = hunk[0] as Line;
    const aLen = hunk.filter((l) => l.tag !== "+").length;
    const bLen = hunk.filter((l) => l.tag !== "-").length;
    out.push(`@@ -${first.ai + (aLen ? 1 : 0)},${aLen} +${first.bi + (bLen ? 1 : 0)},${bLen} @@`);
    for (const l of hunk) out.push(`${l.tag}${l.text}`);
    k = end;
    start = end;
  }
  return `${out.join("\n")}\n`;
}
