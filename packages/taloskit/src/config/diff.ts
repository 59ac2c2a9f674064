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
  type Line = { tag: " " | "-" | "+"; text: string; ai: number; bi: number };
  const lines: Line[] = [];
  // Common prefix and suffix are context; the LCS table covers only the middle.
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (
    suf < x.length - pre &&
    suf < y.length - pre &&
    x[x.length - 1 - suf] === y[y.length - 1 - suf]
  ) {
    suf++;
  }
  for (let k = 0; k < pre; k++) lines.push({ tag: " ", text: x[k] as string, ai: k, bi: k });
  const n = x.length - suf;
  const m = y.length - suf;
  const w = m - pre;
  // lcs[(i - pre) * (w + 1) + (j - pre)]: LCS length of x[i..n) and y[j..m).
  const lcs = new Uint32Array((n - pre + 1) * (w + 1));
  const at = (i: number, j: number) => lcs[(i - pre) * (w + 1) + (j - pre)] as number;
  for (let i = n - 1; i >= pre; i--) {
    for (let j = m - 1; j >= pre; j--) {
      lcs[(i - pre) * (w + 1) + (j - pre)] =
        x[i] === y[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  let i = pre;
  let j = pre;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      lines.push({ tag: " ", text: x[i] as string, ai: i++, bi: j++ });
    } else if (i < n && (j >= m || at(i + 1, j) >= at(i, j + 1))) {
      lines.push({ tag: "-", text: x[i] as string, ai: i++, bi: j });
    } else {
      lines.push({ tag: "+", text: y[j] as string, ai: i, bi: j++ });
    }
  }
  for (let k = 0; k < suf; k++) {
    lines.push({ tag: " ", text: x[n + k] as string, ai: n + k, bi: m + k });
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
