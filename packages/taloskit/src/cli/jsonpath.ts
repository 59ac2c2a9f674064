// `-o jsonpath=EXPR`, talosctl's (and kubectl's) spelling: `{.spec.nodename}`,
// text around `{...}` kept as written. A small JSONPath subset over the JSON
// form of a document: `.field`, `['field']`, `[n]` (negative from the end),
// `[*]` and `.*` (every item or value), `..field` and `..*` (recursive
// descent), and a leading `$` or `@`. Anything else is a JsonPathError, thrown
// while the flag is read, before any node is contacted.
import { FlagError, quotedFlag } from "./errors.js";

/** A JSONPath expression the CLI cannot use; the message names it and the position. */
export class JsonPathError extends FlagError {
  override readonly name: string = "JsonPathError";
}

type Step =
  | { kind: "field"; name: string }
  | { kind: "index"; index: number }
  | { kind: "all" }
  | { kind: "descend"; step: Step };

type Part = { text: string } | { steps: Step[] };

/** The longest template taken: a flag value, not a program. */
const MAX_TEMPLATE = 4096;

/** A parsed `-o jsonpath=` template: evaluate it on each document. */
export interface JsonPath {
  source: string;
  /** The template's text for one document (without a newline). */
  evaluate(doc: unknown): string;
}

/** Parses a jsonpath template (`{.spec.x}`, or a bare `.spec.x`). */
export function parseJsonPath(source: string): JsonPath {
  if (typeof source !== "string" || !source.trim())
    throw new JsonPathError("output format jsonpath: empty expression: use e.g. jsonpath={.spec}");
  if (source.length > MAX_TEMPLATE)
    throw new JsonPathError(`output format jsonpath: longer than ${MAX_TEMPLATE} characters`);
  const parts: Part[] = [];
  if (!source.includes("{")) parts.push({ steps: parseSteps(source, source, 0) });
  else {
    let at = 0;
    while (at < source.length) {
      const open = source.indexOf("{", at);
      if (open < 0) {
        parts.push({ text: literal(source, source.slice(at), at) });
        break;
      }
      if (open > at) parts.push({ text: literal(source, source.slice(at, open), at) });
      const close = source.indexOf("}", open);
      if (close < 0) throw bad(source, open, "'{' is not closed");
      parts.push({ steps: parseSteps(source, source.slice(open + 1, close), open + 1) });
      at = close + 1;
    }
  }
  return {
    source,
    evaluate: (doc) =>
      parts
        .map((p) => ("text" in p ? p.text : select(doc, p.steps).map(valueText).join(" ")))
        .join(""),
  };
}

function bad(source: string, at: number, why: string): JsonPathError {
  return new JsonPathError(
    `output format jsonpath=${quotedFlag(source)}: ${why} at position ${at}`,
  );
}

function literal(source: string, text: string, at: number): string {
  const stray = text.indexOf("}");
  if (stray >= 0) throw bad(source, at + stray, "'}' without '{'");
  return text;
}

/** The steps of one expression (`.a[0]..b`); `offset` places it in `source` for errors. */
function parseSteps(source: string, expr: string, offset: number): Step[] {
  const steps: Step[] = [];
  let i = 0;
  const text = expr.trim();
  offset += expr.indexOf(text);
  if (!text) throw bad(source, offset, "empty expression");
  if (text[0] === "$" || text[0] === "@") i = 1;
  if (/^(range|end|if|else)\b/.test(text))
    throw bad(source, offset, `'${text.split(/\s/)[0]}' is not supported`);
  const name = () => {
    const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i));
    if (!m) throw bad(source, offset + i, "expected a field name");
    i += m[0].length;
    return m[0];
  };
  const member = (): Step => {
    if (text[i] === "*") {
      i++;
      return { kind: "all" };
    }
    return { kind: "field", name: name() };
  };
  const bracket = (): Step => {
    const m = /^\[\s*(?:(\*)|(-?\d+)|'([^']*)'|"([^"]*)")\s*\]/.exec(text.slice(i));
    if (!m) throw bad(source, offset + i, "expected [n], [*] or ['name']");
    i += m[0].length;
    if (m[1]) return { kind: "all" };
    if (m[2] !== undefined) return { kind: "index", index: Number(m[2]) };
    return { kind: "field", name: (m[3] ?? m[4]) as string };
  };
  while (i < text.length) {
    if (text.startsWith("..", i)) {
      i += 2;
      steps.push({ kind: "descend", step: text[i] === "[" ? bracket() : member() });
    } else if (text[i] === ".") {
      i++;
      if (i === text.length && steps.length === 0) break; // `.` is the document itself
      steps.push(member());
    } else if (text[i] === "[") steps.push(bracket());
    else throw bad(source, offset + i, `unexpected ${quotedFlag(text[i])}`);
  }
  return steps;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function children(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return isObject(value) ? Object.values(value) : [];
}

function apply(value: unknown, step: Step): unknown[] {
  switch (step.kind) {
    case "field":
      return isObject(value) && Object.hasOwn(value, step.name) ? [value[step.name]] : [];
    case "index": {
      if (!Array.isArray(value)) return [];
      const i = step.index < 0 ? value.length + step.index : step.index;
      return i >= 0 && i < value.length ? [value[i]] : [];
    }
    case "all":
      return children(value);
    case "descend": {
      const out: unknown[] = [];
      const walk = (v: unknown) => {
        out.push(...apply(v, step.step));
        for (const c of children(v)) walk(c);
      };
      walk(value);
      return out;
    }
  }
}

/** Every value the steps select in `doc`, in document order. */
export function select(doc: unknown, steps: readonly Step[]): unknown[] {
  let current = [doc];
  for (const step of steps) current = current.flatMap((v) => apply(v, step));
  return current;
}

/** A selected value as printed: text as it is, anything else as compact JSON. */
function valueText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
