// The canonical YAML text of a schematic, written the way the Image Factory's
// Go YAML encoder writes it. The schematic ID is a hash of these bytes, so
// every detail matters: 4-space indentation, sequences indented under their
// key, the choice between plain, single-quoted, double-quoted and literal
// scalars, and the ordering of free-form map keys.

/** A YAML value with the Go type it would have on the factory side. */
export type GoNode =
  | { kind: "map"; entries: [string | GoNode, GoNode][] }
  | { kind: "seq"; items: GoNode[] }
  | { kind: "str"; value: string }
  | { kind: "int"; value: bigint }
  | { kind: "float"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "timestamp"; value: string }
  | { kind: "null" };

const BEST_INDENT = 4;

type ScalarStyle = "plain" | "single" | "double" | "literal";

/** Writes a document whose root is a mapping, ending in a newline. */
export function emitGoYaml(root: GoNode): string {
  const out = new Writer();
  emitNode(out, root, { indent: -1, parent: "doc" });
  if (!out.indention) out.newline();
  return out.text;
}

class Writer {
  text = "";
  column = 0;
  indention = true;
  whitespace = true;

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
        const k: GoNode = typeof key === "string" ? { kind: "str", value: key } : key;
        if (k.kind !== "str" || isSimpleKey(k.value)) {
          emitScalar(out, k, indent, true);
          out.indicator(":", false, false, false);
        } else {
          // A long or multi-line key is written after "?", styled like a value,
          // and its value goes on the next line after ":".
          out.indicator("?", true, false, true);
          emitScalar(out, k, childIndent({ indent, parent: "map" }), false);
          out.writeIndent(indent);
          out.indicator(":", true, false, true);
        }
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

/** A key fits on one line before ":" when it has no line break and at most 128 bytes of UTF-8. */
function isSimpleKey(key: string): boolean {
  return !analyzeScalar(key).multiline && new TextEncoder().encode(key).length <= 128;
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
    case "timestamp":
      text = node.value;
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
      writeSingleQuotedBody(out, text, indent);
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
  // The encoder's byte-order-mark test looks at the start of the text, not at
  // the current character: text that starts with U+FEFF is escaped throughout.
  const escapeAll = value.startsWith("\ufeff");
  let s = "";
  for (const ch of value) {
    const c = ch.codePointAt(0) as number;
    if (!escapeAll && isPrintable(c) && !isBreak(c) && c !== 0x22 && c !== 0x5c && c !== 0xfeff) {
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

/**
 * The inside of a single-quoted scalar. Line breaks (only U+2028 and U+2029
 * reach here) are written as they are, and the text after one continues on
 * an indented line.
 */
function writeSingleQuotedBody(out: Writer, text: string, indent: number): void {
  let breaks = false;
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (isBreak(c)) {
      if (!breaks && c === 0x0a) out.newline();
      if (c === 0x0a) out.newline();
      else out.text += ch;
      out.column = 0;
      out.indention = true;
      breaks = true;
    } else {
      if (breaks) out.writeIndent(indent);
      out.write(ch === "'" ? "''" : ch);
      out.indention = false;
      breaks = false;
    }
  }
}

function writeLiteral(out: Writer, value: string, indent: number): void {
  out.indicator("|", true, false, false);
  const cps = [...value].map((ch) => ch.codePointAt(0) as number);
  // The encoder gives an indentation indicator only to text that starts with
  // a space (not to text that starts with a line break).
  if (cps[0] === 0x20) out.write(String(BEST_INDENT));
  const last = cps[cps.length - 1] as number;
  if (!isBreak(last)) out.write("-");
  else if (cps.length === 1 || isBreak(cps[cps.length - 2] as number)) out.write("+");
  // The header always ends its line, so leading line breaks of the text come after it.
  out.newline();
  out.indention = true;
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

// A Set, not an object: a lookup must not find inherited names such as "toString".
const RESERVED = new Set([
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
]);
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
  if (RESERVED.has(s)) {
    if (s === "" || s === "~" || s.toLowerCase() === "null") return "null";
    if (s.toLowerCase() === "true" || s.toLowerCase() === "false") return "bool";
    return "float";
  }
  // A float too large for 64 bits fails to parse, and so stays a string.
  // After a leading dot, underscores may only stand between digits (Go's float syntax).
  if (first === ".") {
    if (!/^\.\d(_?\d)*([eE][-+]?\d(_?\d)*)?$/.test(s)) return "str";
    return Number.isFinite(Number(s.replaceAll("_", ""))) ? "float" : "str";
  }
  if ("+-0123456789".includes(first)) {
    if (isTimestamp(s)) return "timestamp";
    const plain = s.replaceAll("_", "");
    if (parseGoInt(plain) !== undefined) return "int";
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) {
      return Number.isFinite(Number(plain)) ? "float" : "str";
    }
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

// Go's unicode package (and so the factory's key order) follows Unicode 15.0,
// while JavaScript engines follow newer versions. Letters and digits that
// Unicode assigned after 15.0 are not letters or digits to the factory.
const LETTERS_AFTER_15_0: [number, number][] = [
  [0x88f, 0x88f],
  [0xc5c, 0xc5c],
  [0xcdc, 0xcdc],
  [0x1c89, 0x1c8a],
  [0xa7cb, 0xa7cf],
  [0xa7d2, 0xa7d2],
  [0xa7d4, 0xa7d4],
  [0xa7da, 0xa7dc],
  [0xa7f1, 0xa7f1],
  [0x105c0, 0x105f3],
  [0x10940, 0x10959],
  [0x10d4a, 0x10d65],
  [0x10d6f, 0x10d85],
  [0x10ec2, 0x10ec7],
  [0x11380, 0x11389],
  [0x1138b, 0x1138b],
  [0x1138e, 0x1138e],
  [0x11390, 0x113b5],
  [0x113b7, 0x113b7],
  [0x113d1, 0x113d1],
  [0x113d3, 0x113d3],
  [0x11bc0, 0x11be0],
  [0x11db0, 0x11ddb],
  [0x13460, 0x143fa],
  [0x16100, 0x1611d],
  [0x16d40, 0x16d6c],
  [0x16ea0, 0x16eb8],
  [0x16ebb, 0x16ed3],
  [0x16ff2, 0x16ff3],
  [0x187f8, 0x187ff],
  [0x18cff, 0x18cff],
  [0x18d09, 0x18d1e],
  [0x18d80, 0x18df2],
  [0x1e5d0, 0x1e5ed],
  [0x1e5f0, 0x1e5f0],
  [0x1e6c0, 0x1e6de],
  [0x1e6e0, 0x1e6e2],
  [0x1e6e4, 0x1e6e5],
  [0x1e6e7, 0x1e6ed],
  [0x1e6f0, 0x1e6f4],
  [0x1e6fe, 0x1e6ff],
  [0x2b73a, 0x2b73f],
  [0x2cea2, 0x2cead],
  [0x2ebf0, 0x2ee5d],
  [0x323b0, 0x33479],
];
const DIGITS_AFTER_15_0: [number, number][] = [
  [0x10d40, 0x10d49],
  [0x116d0, 0x116e3],
  [0x11bf0, 0x11bf9],
  [0x11de0, 0x11de9],
  [0x16130, 0x16139],
  [0x16d70, 0x16d79],
  [0x1ccf0, 0x1ccf9],
  [0x1e5f1, 0x1e5fa],
];
const inRanges = (c: string, ranges: [number, number][]) => {
  const cp = c.codePointAt(0) as number;
  return ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
};
const isLetter = (c: string) => /\p{L}/u.test(c) && !inRanges(c, LETTERS_AFTER_15_0);
const isDigit = (c: string) => /\p{Nd}/u.test(c) && !inRanges(c, DIGITS_AFTER_15_0);

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

/** Where Go's reflection puts each kind of key: the encoder orders keys of different kinds by it. */
function keyKindRank(n: GoNode): number {
  switch (n.kind) {
    case "bool":
      return 1;
    case "int":
      return n.value > 2n ** 63n - 1n ? 11 : 2;
    case "float":
      return 14;
    case "null":
      return 20;
    case "str":
      return 24;
    default:
      return 25;
  }
}

function keyNumber(n: GoNode): number | undefined {
  if (n.kind === "bool") return n.value ? 1 : 0;
  if (n.kind === "int") return Number(n.value);
  if (n.kind === "float") return n.value;
  return undefined;
}

/**
 * Orders keys of a free-form map whose keys are not all strings, as Go's YAML
 * encoder does: numbers (and booleans, as 0 and 1) by value, then by kind;
 * strings naturally; otherwise by kind.
 */
export function compareGoAnyKeys(a: GoNode, b: GoNode): number {
  const less = (x: GoNode, y: GoNode): boolean => {
    const xn = keyNumber(x);
    const yn = keyNumber(y);
    const xk = keyKindRank(x);
    const yk = keyKindRank(y);
    if (xn !== undefined && yn !== undefined) {
      if (xn !== yn) return xn < yn;
      if (xk !== yk) return xk < yk;
      if (x.kind === "int" && y.kind === "int") return x.value < y.value;
      if (x.kind === "bool" && y.kind === "bool") return !x.value && y.value;
      return false;
    }
    if (x.kind === "str" && y.kind === "str") return compareGoKeys(x.value, y.value) < 0;
    return xk < yk;
  };
  return less(a, b) ? -1 : less(b, a) ? 1 : 0;
}
