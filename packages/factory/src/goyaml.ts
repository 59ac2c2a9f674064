// The canonical YAML text of a schematic, written the way the Image Factory's
// Go YAML encoder writes it. The schematic ID is a hash of these bytes, so
// every detail matters: 4-space indentation, sequences indented under their
// key, the choice between plain, single-quoted, double-quoted and literal
// scalars, and the ordering of free-form map keys.

/** A YAML value with the Go type it would have on the factory side. */
export type GoNode =
  | { kind: "map"; entries: [string, GoNode][] }
  | { kind: "seq"; items: GoNode[] }
  | { kind: "str"; value: string }
  | { kind: "int"; value: bigint }
  | { kind: "float"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "null" };

const BEST_INDENT = 4;

type ScalarStyle = "plain" | "single" | "double" | "literal";

/** Writes a document whose root is a mapping, ending in a newline. */
export function emitGoYaml(root: GoNode): string {
  const out = new Writer();
  emitNode(out, root, { indent: -1, parent: "doc" });
  if (!out.indention) out.newline();
  if (out.openEnded) {
    out.text += "...";
    out.newline();
  }
  return out.text;
}

class Writer {
  text = "";
  column = 0;
  indention = true;
  whitespace = true;
  openEnded = false;

  write(s: string): void {
    this.text += s;
    this.column += [...s].length;
  }
  newline(): void {
    this.text += "\n";
    this.column = 0;
  }
  /** Moves to `indent`, starting a new line unless the cursor can stay on this one. */
  writeIndent(indent: number): void {
    const target = Math.max(indent, 0);
    if (!this.indention || this.column > target || (this.column === target && !this.whitespace)) {
      this.newline();
    }
    while (this.column < target) this.write(" ");
    this.whitespace = true;
    this.indention = true;
  }
  indicator(s: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.write(" ");
    this.write(s);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
    this.openEnded = false;
  }
}

interface Context {
  /** Indentation of the enclosing collection (-1 at the document root). */
  indent: number;
  /** What the node sits in: decides how far a nested block is indented. */
  parent: "doc" | "map" | "seq";
}

function childIndent(ctx: Context): number {
  if (ctx.indent < 0) return 0;
  if (ctx.parent === "seq") return ctx.indent + 2;
  return BEST_INDENT * Math.floor((ctx.indent + BEST_INDENT) / BEST_INDENT);
}

function emitNode(out: Writer, node: GoNode, ctx: Context, simpleKey = false): void {
  switch (node.kind) {
    case "map": {
      if (node.entries.length === 0) {
        out.indicator("{", true, true, false);
        out.indicator("}", false, false, false);
        return;
      }
      const indent = childIndent(ctx);
      for (const [key, value] of node.entries) {
        out.writeIndent(indent);
        emitScalar(out, { kind: "str", value: key }, indent, true);
        out.indicator(":", false, false, false);
        emitNode(out, value, { indent, parent: "map" });
      }
      return;
    }
    case "seq": {
      if (node.items.length === 0) {
        out.indicator("[", true, true, false);
        out.indicator("]", false, false, false);
        return;
      }
      const indent = childIndent(ctx);
      for (const item of node.items) {
        out.writeIndent(indent);
        out.indicator("-", true, false, true);
        emitNode(out, item, { indent, parent: "seq" });
      }
      return;
    }
    default:
      emitScalar(out, node, childIndent(ctx), simpleKey);
  }
}

function emitScalar(out: Writer, node: GoNode, indent: number, simpleKey: boolean): void {
  let text: string;
  let style: ScalarStyle;
  switch (node.kind) {
    case "str":
      text = node.value;
      style = selectStringStyle(text, simpleKey);
      break;
    case "int":
      text = node.value.toString();
      style = "plain";
      break;
    case "float":
      text = formatGoFloat(node.value);
      style = "plain";
      break;
    case "bool":
      text = node.value ? "true" : "false";
      style = "plain";
      break;
    case "null":
      text = "null";
      style = "plain";
      break;
    default:
      throw new Error("collections are not scalars");
  }
  switch (style) {
    case "plain":
      if (text.length > 0 && !out.whitespace) out.write(" ");
      out.write(text);
      out.whitespace = false;
      out.indention = false;
      return;
    case "single":
      out.indicator("'", true, false, false);
      out.write(text.replaceAll("'", "''"));
      out.indicator("'", false, false, false);
      return;
    case "double":
      out.indicator('"', true, false, false);
      out.write(escapeDouble(text));
      out.indicator('"', false, false, false);
      return;
    case "literal":
      writeLiteral(out, text, indent);
      return;
  }
}

/**
 * The factory's encoder asks for a literal block for multi-line text (unless
 * it is only whitespace), single quotes for YAML 1.1 look-alikes (`yes`,
 * `off`, `1:20`, `<<`), double quotes for text that would read back as
 * another type (`true`, `1.20`, `""`), and plain otherwise; the emitter then
 * demotes a style the text cannot be written in.
 */
function selectStringStyle(s: string, simpleKey: boolean): ScalarStyle {
  const a = analyzeScalar(s);
  let style: ScalarStyle;
  if (s.includes("\n")) style = s.length >= 2 && !ONLY_SPACE.test(s) ? "literal" : "double";
  else if (isBase60Float(s) || isOldBool(s) || s === "<<") style = "single";
  else if (resolvePlain(s) !== "str") style = "double";
  else style = "plain";
  if (simpleKey && a.multiline) style = "double";
  if (style === "plain") {
    if (!a.blockPlainAllowed) style = "single";
    if (s.length === 0 && simpleKey) style = "single";
  }
  if (style === "single" && !a.singleQuotedAllowed) style = "double";
  if (style === "literal" && (!a.blockAllowed || simpleKey)) style = "double";
  return style;
}

const ONLY_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

interface Analysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

const isBreak = (c: number) =>
  c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
const isBlank = (c: number | undefined) => c === 0x20 || c === 0x09;
const isPrintable = (c: number) =>
  c === 0x0a ||
  (c >= 0x20 && c <= 0x7e) ||
  (c >= 0xa0 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);

function analyzeScalar(value: string): Analysis {
  if (value.length === 0) {
    return {
      multiline: false,
      blockPlainAllowed: true,
      singleQuotedAllowed: true,
      blockAllowed: false,
    };
  }
  const cps = [...value].map((ch) => ch.codePointAt(0) as number);
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let tabs = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  if (value.startsWith("---") || value.startsWith("...")) blockIndicators = true;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i] as number;
    const next = cps[i + 1];
    const followedByWhitespace = next === undefined || isBlank(next);
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(String.fromCodePoint(c))) blockIndicators = true;
      else if ((c === 0x3f || c === 0x3a) && followedByWhitespace) blockIndicators = true;
      else if (c === 0x2d && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === 0x3a && followedByWhitespace) blockIndicators = true;
      else if (c === 0x23 && precededByWhitespace) blockIndicators = true;
    }
    if (c === 0x09) tabs = true;
    else if (!isPrintable(c)) special = true;
    if (c === 0x20) {
      if (i === 0) leadingSpace = true;
      if (i === cps.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === cps.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlank(c) || isBreak(c) || c === 0;
  }
  const r: Analysis = {
    multiline: lineBreaks,
    blockPlainAllowed: true,
    singleQuotedAllowed: true,
    blockAllowed: true,
  };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) r.blockPlainAllowed = false;
  if (trailingSpace) r.blockAllowed = false;
  if (breakSpace) {
    r.blockPlainAllowed = false;
    r.singleQuotedAllowed = false;
  }
  if (spaceBreak || tabs || special) {
    r.blockPlainAllowed = false;
    r.singleQuotedAllowed = false;
  }
  if (spaceBreak || special) r.blockAllowed = false;
  if (lineBreaks || blockIndicators) r.blockPlainAllowed = false;
  return r;
}

function escapeDouble(value: string): string {
  let s = "";
  for (const ch of value) {
    const c = ch.codePointAt(0) as number;
    if (isPrintable(c) && !isBreak(c) && c !== 0x22 && c !== 0x5c && c !== 0xfeff) {
      s += ch;
      continue;
    }
    const named: Record<number, string> = {
      0: "0",
      7: "a",
      8: "b",
      9: "t",
      10: "n",
      11: "v",
      12: "f",
      13: "r",
      27: "e",
      34: '"',
      92: "\\",
      133: "N",
      160: "_",
      8232: "L",
      8233: "P",
    };
    const name = named[c];
    if (name !== undefined) s += `\\${name}`;
    else if (c <= 0xff) s += `\\x${c.toString(16).toUpperCase().padStart(2, "0")}`;
    else if (c <= 0xffff) s += `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    else s += `\\U${c.toString(16).toUpperCase().padStart(8, "0")}`;
  }
  return s;
}

function writeLiteral(out: Writer, value: string, indent: number): void {
  out.indicator("|", true, false, false);
  const cps = [...value].map((ch) => ch.codePointAt(0) as number);
  if (cps[0] === 0x20 || isBreak(cps[0] as number)) out.write(String(BEST_INDENT));
  const last = cps[cps.length - 1] as number;
  if (!isBreak(last)) out.write("-");
  else if (cps.length === 1 || isBreak(cps[cps.length - 2] as number)) {
    out.write("+");
    out.openEnded = true;
  }
  out.whitespace = true;
  let breaks = true;
  for (const ch of value) {
    if (isBreak(ch.codePointAt(0) as number)) {
      out.text += ch === "\n" ? "\n" : ch;
      out.column = 0;
      out.indention = true;
      breaks = true;
    } else {
      if (breaks) out.writeIndent(indent);
      out.write(ch);
      out.indention = false;
      breaks = false;
    }
  }
}

// --- How Go's YAML resolver would read an unquoted scalar ---

const RESERVED: Record<string, true> = Object.fromEntries(
  [
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "",
    "~",
    "null",
    "Null",
    "NULL",
    ".nan",
    ".NaN",
    ".NAN",
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "+.Inf",
    "+.INF",
    "-.inf",
    "-.Inf",
    "-.INF",
  ].map((k) => [k, true]),
);
const OLD_BOOLS = new Set([
  "y",
  "Y",
  "yes",
  "Yes",
  "YES",
  "on",
  "On",
  "ON",
  "n",
  "N",
  "no",
  "No",
  "NO",
  "off",
  "Off",
  "OFF",
]);

export function isOldBool(s: string): boolean {
  return OLD_BOOLS.has(s);
}

function isBase60Float(s: string): boolean {
  if (!/^[-+0-9]/.test(s) || !s.includes(":")) return false;
  return /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s);
}

/** The Go type an unquoted scalar resolves to: "str", "int", "float", "bool", "null" or "timestamp". */
export function resolvePlain(s: string): "str" | "int" | "float" | "bool" | "null" | "timestamp" {
  const first = s.length === 0 ? "N" : (s[0] as string);
  const hinted = first === "N" || "+-0123456789yYnNtTfFoO~.".includes(first);
  if (!hinted) return "str";
  if (RESERVED[s]) {
    if (s === "" || s === "~" || s.toLowerCase() === "null") return "null";
    if (s.toLowerCase() === "true" || s.toLowerCase() === "false") return "bool";
    return "float";
  }
  if (first === ".") return isGoFloat(s) ? "float" : "str";
  if ("+-0123456789".includes(first)) {
    if (isTimestamp(s)) return "timestamp";
    const plain = s.replaceAll("_", "");
    if (parseGoInt(plain) !== undefined) return "int";
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) return "float";
    if (/^-?0b[01]+$/.test(plain) || /^-?0o[0-7]+$/.test(plain)) return "int";
  }
  return "str";
}

/** Go's strconv.ParseInt/ParseUint with base 0 (decimal, 0x, 0o, 0b, leading-0 octal), 64-bit range. */
export function parseGoInt(s: string): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const sign = m[1] === "-" ? -1n : 1n;
  let body = m[2] as string;
  let v: bigint;
  if (/^0[oO]/.test(body)) v = BigInt(`0o${body.slice(2)}`);
  else if (/^0[0-7]+$/.test(body)) v = BigInt(`0o${body.slice(1)}`);
  else {
    body = body.replace(/^0X/, "0x").replace(/^0B/, "0b");
    v = BigInt(body);
  }
  v *= sign;
  if (v < -(2n ** 63n) || v > 2n ** 64n - 1n) return undefined;
  if (m[1] !== "" && v > 2n ** 63n - 1n) return undefined;
  return v;
}

function isGoFloat(s: string): boolean {
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) || /^[-+]?(inf|infinity|nan)$/i.test(s);
}

function isTimestamp(s: string): boolean {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?(Z|[-+]\d{2}:\d{2})?)?$/.exec(
      s,
    );
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return false;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days) return false;
  if (m[4] === undefined) return true;
  // A space-separated time carries no zone; T/t forms require one.
  if (m[4] === " " ? m[9] !== undefined : m[9] === undefined) return false;
  return Number(m[5]) < 24 && Number(m[6]) < 60 && Number(m[7]) < 60;
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64) with YAML's spellings of infinities and NaN. */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return ".nan";
  if (v === Number.POSITIVE_INFINITY) return ".inf";
  if (v === Number.NEGATIVE_INFINITY) return "-.inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mantissa, expText] = v.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const digits = mantissa.replace("-", "").replace(".", "");
  const negative = v < 0 ? "-" : "";
  if (exp >= digits.length - 1) return negative + digits + "0".repeat(exp - digits.length + 1);
  if (exp >= 0) return `${negative}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return `${negative}0.${"0".repeat(-exp - 1)}${digits}`;
}

/** Orders map keys as Go's YAML encoder does: by rune, but runs of digits by their numeric value. */
export function compareGoKeys(a: string, b: string): number {
  return goKeyLess(a, b) ? -1 : goKeyLess(b, a) ? 1 : 0;
}

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => /\p{Nd}/u.test(c);

function goKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ca = ar[i] as string;
    const cb = br[i] as string;
    if (ca === cb) {
      digits = isDigit(ca);
      continue;
    }
    const al = isLetter(ca);
    const bl = isLetter(cb);
    if (al && bl) return (ca.codePointAt(0) as number) < (cb.codePointAt(0) as number);
    if (al || bl) return digits ? al : bl;
    let an = 0n;
    let bn = 0n;
    if (ca === "0" || cb === "0") {
      for (let j = i - 1; j >= 0 && isDigit(ar[j] as string); j--) {
        if (ar[j] !== "0") {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai] as string); ai++) {
      an = an * 10n + BigInt((ar[ai] as string).codePointAt(0) as number) - 48n;
    }
    let bi = i;
    for (; bi < br.length && isDigit(br[bi] as string); bi++) {
      bn = bn * 10n + BigInt((br[bi] as string).codePointAt(0) as number) - 48n;
    }
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return (ca.codePointAt(0) as number) < (cb.codePointAt(0) as number);
  }
  return ar.length < br.length;
}
