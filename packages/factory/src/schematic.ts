// The schematic model: what a Talos image is built from. The ID of a
// schematic is the SHA-256 of its canonical YAML, computed here offline and
// synchronously, byte for byte as the factory computes it.

import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils";
import { parseYamlDocuments, YamlError } from "@taloskit/core";
import { type Document, isAlias, isMap, isScalar, isSeq, Lexer, type Node, visit } from "yaml";
import { z } from "zod";
import { SchematicError } from "./errors.js";
import {
  compareGoAnyKeys,
  compareGoKeys,
  emitGoYaml,
  type GoNode,
  isOldBool,
  parseGoInt,
  resolvePlain,
} from "./goyaml.js";

export const BOOTLOADER_KINDS = ["none", "dual-boot", "sd-boot", "grub"] as const;
export type BootloaderKind = (typeof BOOTLOADER_KINDS)[number];
export const ENROLL_KEYS_MODES = ["off", "manual", "if-safe", "force"] as const;
export type EnrollKeysMode = (typeof ENROLL_KEYS_MODES)[number];

/**
 * A float read from schematic text whose value is a whole number (`1.0`).
 * JavaScript numbers cannot tell it from an integer, but the factory writes
 * it differently, so parsed overlay options keep it wrapped.
 */
export class YamlFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

/**
 * A map inside overlay options whose keys are not all strings (`{1: a, true: b}`).
 * The factory keeps such keys typed, which changes how they are written and
 * ordered, so parsed options keep them in this wrapper.
 */
export class YamlMap {
  constructor(readonly entries: [unknown, unknown][]) {}
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.entries) {
      const key = k instanceof YamlFloat || k instanceof YamlTimestamp ? k.toJSON() : k;
      Object.defineProperty(out, String(key), {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
}

/**
 * A timestamp read from an unquoted overlay option (`2024-01-02`). The factory
 * turns it into a time and writes it back in RFC 3339 form, unquoted; `text`
 * is that form.
 */
export class YamlTimestamp {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

const bootloader = z.string().transform((v, ctx) => {
  const lower = v.toLowerCase();
  if ((BOOTLOADER_KINDS as readonly string[]).includes(lower)) return lower as BootloaderKind;
  ctx.addIssue({
    code: "custom",
    message:
      lower === "auto"
        ? `"auto" is only a UI choice: leave bootloader unset instead`
        : `unknown bootloader "${v}": use one of ${BOOTLOADER_KINDS.join(", ")}`,
  });
  return z.NEVER;
});

export const MetaValueSchema = z.strictObject({
  key: z.number().int().min(0).max(255),
  value: z.string(),
});

export const OverlaySchema = z.strictObject({
  image: z.string().optional(),
  name: z.string().optional(),
  // Passed through as given (a record schema would copy it and lose an option
  // named "__proto__", which the factory keeps like any other).
  options: z
    .custom<Record<string, unknown>>(
      (v) => typeof v === "object" && v !== null && !Array.isArray(v),
      { message: "expected a mapping of option names to values" },
    )
    .optional(),
});

export const CustomizationSchema = z.strictObject({
  embeddedMachineConfiguration: z.string().optional(),
  extraKernelArgs: z.array(z.string()).optional(),
  meta: z.array(MetaValueSchema).optional(),
  systemExtensions: z
    .strictObject({ officialExtensions: z.array(z.string()).optional() })
    .optional(),
  bootloader: bootloader.optional(),
  secureboot: z
    .strictObject({
      enrollKeys: z.string().optional(),
      includeWellKnownCertificates: z.boolean().optional(),
    })
    .optional(),
  diskImage: z
    .strictObject({
      // The factory's field is a 64-bit unsigned integer; past 2^53 it is read as a bigint.
      sectorSize: z
        .union([
          z.number().int().min(0),
          z
            .bigint()
            .min(0n)
            .max(2n ** 64n - 1n),
        ])
        .optional(),
    })
    .optional(),
});

/** Zod schema of a whole schematic, with the factory's field names. */
export const SchematicSchema = z.strictObject({
  owner: z.string().optional(),
  overlay: OverlaySchema.optional(),
  customization: CustomizationSchema.optional(),
});

export type Schematic = z.output<typeof SchematicSchema>;
export type SchematicInput = z.input<typeof SchematicSchema>;
export type Customization = z.output<typeof CustomizationSchema>;
export type Overlay = z.output<typeof OverlaySchema>;
export type MetaValue = z.output<typeof MetaValueSchema>;

/** Validates a schematic object; the error lists every bad field by its path. */
export function validateSchematicShape(input: unknown): Schematic {
  const result = SchematicSchema.safeParse(input);
  if (result.success) return result.data;
  throw new SchematicError(
    "invalid schematic",
    result.error.issues.flatMap((i) =>
      // An unknown key is named by its own path, as parseSchematic names it.
      i.code === "unrecognized_keys"
        ? i.keys.map((k) => `${[...i.path, k].join(".")}: unknown field "${k}"`)
        : [`${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`],
    ),
  );
}

// --- Reading schematic text the way the factory's decoder does ---

type FieldSpec =
  | "str"
  | "bool"
  | "uint8"
  | "uint"
  | "any"
  | "options"
  | { seq: FieldSpec }
  | { map: Record<string, FieldSpec>; zero?: Record<string, unknown> };

const SPEC: FieldSpec = {
  map: {
    owner: "str",
    overlay: { map: { image: "str", name: "str", options: "options" } },
    customization: {
      map: {
        embeddedMachineConfiguration: "str",
        extraKernelArgs: { seq: "str" },
        meta: { seq: { map: { key: "uint8", value: "str" }, zero: { key: 0, value: "" } } },
        systemExtensions: { map: { officialExtensions: { seq: "str" } } },
        bootloader: "str",
        secureboot: { map: { enrollKeys: "str", includeWellKnownCertificates: "bool" } },
        diskImage: { map: { sectorSize: "uint" } },
      },
    },
  },
};

/** Characters a YAML stream may not contain at all, escaped or not (the factory's reader refuses them). */
function firstDisallowed(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 ? c !== 0x09 && c !== 0x0a && c !== 0x0d : c === 0xfffe || c === 0xffff) return i;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/**
 * Parses schematic YAML or JSON (any key order, any formatting) with the
 * factory's decoding rules: unknown fields are errors, a scalar read into a
 * string field keeps its text (`- 1` is the string "1"), `0xa` is a valid key.
 */
/** Largest schematic read: real ones are a few kilobytes. */
const SCHEMATIC_MAX_BYTES = 1024 * 1024;

export function parseSchematic(text: string): Schematic {
  const badAt = firstDisallowed(text);
  if (badAt >= 0) {
    const code = (text.codePointAt(badAt) as number).toString(16).toUpperCase().padStart(4, "0");
    const line = text.slice(0, badAt).split("\n").length;
    throw new SchematicError(
      "schematic is not valid YAML or JSON",
      [
        `line ${line}: control character U+${code} is not allowed (write it as an escape in a double-quoted string)`,
      ],
      "SCHEMATIC_PARSE",
    );
  }
  // A lone CR ends a line for the factory's reader (as it does for YAML), not for ours.
  const lines = text.includes("\r") ? text.replace(/\r(?!\n)/g, "\n") : text;
  const source = lines.includes("\u0085") ? nelAsLineBreak(lines) : lines;
  let docs: Document.Parsed[];
  try {
    docs = parseYamlDocuments(source, {
      what: "schematic",
      maxBytes: SCHEMATIC_MAX_BYTES,
      maxDocuments: 1,
      // Tagged scalars stay text; kindOf() reads them as the factory does.
      yaml: { schema: "failsafe", resolveKnownTags: false },
    });
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    throw new SchematicError(
      "schematic is not valid YAML or JSON",
      [err.reason],
      "SCHEMATIC_PARSE",
    );
  }
  // Only the first document counts; a text with none (empty, or only comments) is refused.
  const doc = docs[0];
  if (doc === undefined || isBareDocumentEnd(doc)) {
    throw new SchematicError("schematic is empty", ["no YAML document"], "SCHEMATIC_PARSE");
  }
  checkScalars(doc, source);
  const value = decode({ doc, source }, doc.contents as Node | null, SPEC, []);
  return validateSchematicShape(value ?? {});
}

/**
 * The factory's YAML reader takes NEL (U+0085) for a line break ("\n"). Our
 * reader does not, so NEL becomes "\n" before reading. Inside a quoted
 * scalar the new line is also indented past its key, since the factory does
 * not ask continuation lines to be indented and ours does; the indentation
 * of a continuation line of quoted text is dropped by both.
 */
function nelAsLineBreak(text: string): string {
  let out = "";
  for (const token of new Lexer().lex(text)) {
    // One-character control tokens of the lexer are not source text (the
    // characters they use are refused in schematic text before this).
    if (token === "\u0002" || token === "\u0018" || token === "\u001f") continue;
    if ((token.startsWith('"') || token.startsWith("'")) && token.includes("\u0085")) {
      // The quote's column is past the indentation of the collection it sits in.
      const column = out.length - (out.lastIndexOf("\n") + 1);
      // A line that starts with a document marker stays at column 0, where
      // both readers refuse it inside quoted text.
      const indented = token.replace(
        /\u0085(?!(?:---|\.\.\.)(?:[\s\u0085]|$))/g,
        `\n${" ".repeat(column)}`,
      );
      out += indented.replaceAll("\u0085", "\n");
    } else out += token.replaceAll("\u0085", "\n");
  }
  return out;
}

/**
 * Refuses scalars the factory's reader refuses and ours would read.
 *
 * Inside flow collections (`[...]`, `{...}`) the factory's reader ends an
 * unquoted scalar at a "?" followed by a space, and then fails on what
 * follows; ours reads the "?" as text. Such text is refused here as the
 * factory refuses it.
 */
function checkScalars(doc: Document.Parsed, source: string): void {
  visit(doc, {
    Scalar(_key, node, path) {
      if ((node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") && node.range) {
        // After U+2028 or U+2029 (line breaks to the factory) a "---" or
        // "..." starts a line, and ends the document inside the quotes.
        const raw = source.slice(node.range[0], node.range[1]);
        if (/[\u2028\u2029](?:---|\.\.\.)(?=\s)/.test(raw)) {
          throw new SchematicError(
            "schematic is not valid YAML or JSON",
            [
              'quoted text has a document marker ("---" or "...") after a U+2028 or U+2029 line break',
            ],
            "SCHEMATIC_PARSE",
          );
        }
      }
      if (node.type !== "PLAIN" || !/.\?\s/.test(String(node.value))) return;
      if (path.some((p) => (isMap(p) || isSeq(p)) && p.flow)) {
        throw new SchematicError(
          "schematic is not valid YAML or JSON",
          [`"${String(node.value)}": inside [ ] or { }, text with "? " must be quoted`],
          "SCHEMATIC_PARSE",
        );
      }
    },
  });
}

/** A document with no "---" and no content (only a "..." end marker): the factory reads no document. */
function isBareDocumentEnd(doc: Document.Parsed): boolean {
  if (doc.directives?.docStart) return false;
  const c = doc.contents;
  return (
    c === null ||
    (isScalar(c) &&
      c.type === "PLAIN" &&
      c.tag === undefined &&
      c.anchor === undefined &&
      c.source === "" &&
      c.range?.[0] === c.range?.[1])
  );
}

interface ReadContext {
  doc: Document.Parsed;
  source: string;
}

/** Follows an alias to the node it names. */
function deref(ctx: ReadContext, node: unknown): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return deref(ctx, node.resolve(ctx.doc) ?? null);
  return node as Node;
}

function isNullScalar(node: Node | null): boolean {
  if (node === null) return true;
  if (!isScalar(node)) return false;
  if (node.tag === `${STD_TAG}null`) return true;
  return (
    node.type === "PLAIN" && node.tag === undefined && resolvePlain(scalarText(node)) === "null"
  );
}

const STD_TAG = "tag:yaml.org,2002:";
type ScalarKind = ReturnType<typeof resolvePlain>;

/**
 * The type the factory's resolver gives a scalar. Unquoted text resolves by
 * its form; an explicit standard tag (`!!int '7'`) must fit its text; other
 * tags leave the text to resolve as if untagged.
 */
function kindOf(node: Node, text: string, path: (string | number)[]): ScalarKind {
  const plain = isScalar(node) && node.type === "PLAIN";
  const tag = node.tag;
  if (tag === undefined || !tag.startsWith(STD_TAG)) return plain ? resolvePlain(text) : "str";
  const name = tag.slice(STD_TAG.length);
  switch (name) {
    case "str":
    case "binary":
      return "str";
    case "null":
      return "null";
    case "int":
    case "float":
    case "bool":
    case "timestamp": {
      const k = resolvePlain(text);
      if (name === "float" && (k === "int" || k === "float")) return "float";
      if (k === name) return k;
      return fail(path, `"${text}" cannot be read as !!${name}`);
    }
    default:
      return plain ? resolvePlain(text) : "str";
  }
}

/**
 * The text of a scalar. Quoted text holding U+2028 or U+2029 is read again
 * from the source: the factory's reader takes those for line breaks (kept in
 * the text, but the spaces around them go, as around any folded break).
 */
function textOf(ctx: ReadContext, node: Node): string {
  const range = node.range;
  if (
    isScalar(node) &&
    (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") &&
    range !== undefined &&
    range !== null
  ) {
    const raw = ctx.source.slice(range[0], range[1]);
    if (/[\u2028\u2029]/.test(raw)) return readQuoted(raw);
  }
  if (node.tag === `${STD_TAG}binary`) {
    // Standard base64 with its padding, as Go's decoder wants it (atob is laxer, and
    // throws an untyped error on what it refuses).
    const b64 = scalarText(node).replace(/\s/g, "");
    if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
      throw new SchematicError(
        "schematic is not valid YAML or JSON",
        ["a !!binary value is not valid base64"],
        "SCHEMATIC_PARSE",
      );
    }
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  }
  return scalarText(node);
}

const BLANK = /[ \t]/;
const BREAK = /[\n\r\u2028\u2029]/;
const ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\u0085",
  _: "\u00a0",
  L: "\u2028",
  P: "\u2029",
};

/** A quoted scalar's source (quotes included) read with the factory's folding rules. */
function readQuoted(raw: string): string {
  const double = raw.startsWith('"');
  const chars = [...raw.slice(1, -1)];
  let out = "";
  let i = 0;
  while (i < chars.length) {
    // A run of text up to the next blank or break.
    while (i < chars.length && !BLANK.test(chars[i] as string) && !BREAK.test(chars[i] as string)) {
      const c = chars[i] as string;
      if (!double && c === "'" && chars[i + 1] === "'") {
        out += "'";
        i += 2;
      } else if (double && c === "\\") {
        const e = chars[i + 1] as string;
        if (e !== undefined && BREAK.test(e)) {
          // An escaped line break joins the lines without a space.
          i += e === "\r" && chars[i + 2] === "\n" ? 3 : 2;
          while (i < chars.length && BLANK.test(chars[i] as string)) i++;
          continue;
        }
        const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
        if (width > 0) {
          out += String.fromCodePoint(
            Number.parseInt(chars.slice(i + 2, i + 2 + width).join(""), 16),
          );
          i += 2 + width;
        } else {
          out += ESCAPES[e] ?? e;
          i += 2;
        }
      } else {
        out += c;
        i++;
      }
    }
    // Blanks and breaks: blanks before a break go, the first break folds.
    let spaces = "";
    let leading = "";
    let trailing = "";
    let broke = false;
    while (i < chars.length && (BLANK.test(chars[i] as string) || BREAK.test(chars[i] as string))) {
      let c = chars[i] as string;
      if (BLANK.test(c)) {
        if (!broke) spaces += c;
        i++;
        continue;
      }
      if (c === "\r" && chars[i + 1] === "\n") i++;
      if (c === "\r") c = "\n";
      if (!broke) {
        leading = c;
        broke = true;
      } else trailing += c;
      i++;
    }
    if (!broke) out += spaces;
    else if (leading === "\n") out += trailing === "" ? " " : trailing;
    else out += leading + trailing;
  }
  return out;
}

function scalarText(node: Node): string {
  const v = (node as { value?: unknown }).value;
  return v === null || v === undefined ? "" : String(v);
}

function isMergeKey(node: Node | null): boolean {
  return (
    node !== null &&
    isScalar(node) &&
    node.type === "PLAIN" &&
    node.tag === undefined &&
    scalarText(node) === "<<"
  );
}

/**
 * The key/value pairs of a mapping with merge keys (`<<: *base`) applied: keys
 * written in the mapping win over merged ones, and among merged mappings the
 * first to name a key wins.
 */
function pairsOf(
  ctx: ReadContext,
  node: Node,
  path: (string | number)[],
): [Node | null, Node | null][] {
  if (!isMap(node)) return fail(path, "expected a mapping");
  const own: [Node | null, Node | null][] = [];
  const merges: (Node | null)[] = [];
  for (const pair of node.items) {
    const k = deref(ctx, pair.key);
    if (k !== null && isScalar(k) && k.range) {
      // A key not introduced by "?" must fit on one line for the factory's
      // reader, for which U+2028 and U+2029 (and NEL) break lines too.
      const raw = ctx.source.slice(k.range[0], k.range[1]);
      const explicit = /\?\s*$/.test(ctx.source.slice(0, k.range[0]));
      if (!explicit && /[\n\r\u2028\u2029]/.test(raw)) {
        fail(path, 'a mapping key must fit on one line (or follow a "?")');
      }
    }
    if (isMergeKey(k)) merges.push(deref(ctx, pair.value));
    else own.push([k, deref(ctx, pair.value)]);
  }
  if (merges.length === 0) return own;
  const seen = new Set(own.map(([k]) => (k !== null && isScalar(k) ? textOf(ctx, k) : k)));
  for (const m of merges) {
    const sources = isSeq(m) ? m.items.map((i) => deref(ctx, i)) : [m];
    for (const src of sources) {
      if (src === null || !isMap(src)) {
        fail(path, "map merge requires a mapping or a sequence of mappings");
      }
      for (const [k, v] of pairsOf(ctx, src, path)) {
        const id = k !== null && isScalar(k) ? textOf(ctx, k) : k;
        if (seen.has(id)) continue;
        seen.add(id);
        own.push([k, v]);
      }
    }
  }
  return own;
}

function fail(path: (string | number)[], message: string): never {
  throw new SchematicError(
    "invalid schematic",
    [`${path.length > 0 ? path.join(".") : "(root)"}: ${message}`],
    "SCHEMATIC_PARSE",
  );
}

/** Sets a key as an own property, even one named like a built-in (`__proto__`). */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function decode(
  ctx: ReadContext,
  node: Node | null,
  spec: FieldSpec,
  path: (string | number)[],
): unknown {
  node = deref(ctx, node);
  if (typeof spec === "object" && "map" in spec) {
    if (isNullScalar(node)) return undefined;
    if (node === null || !isMap(node)) return fail(path, "expected a mapping");
    // Fields left out keep their zero value where the factory has no "omit when empty".
    const out: Record<string, unknown> = { ...spec.zero };
    for (const [k, v] of pairsOf(ctx, node, path)) {
      const key =
        k !== null && isScalar(k) ? textOf(ctx, k) : fail(path, "map keys must be scalars");
      if (!Object.hasOwn(spec.map, key)) fail([...path, key], `unknown field "${key}"`);
      const fieldSpec = spec.map[key] as FieldSpec;
      const value = decode(ctx, v, fieldSpec, [...path, key]);
      if (value !== undefined) setOwn(out, key, value);
    }
    return out;
  }
  if (typeof spec === "object") {
    if (isNullScalar(node)) return undefined;
    if (node === null || !isSeq(node)) return fail(path, "expected a sequence");
    // Null items of a typed list are dropped, as the factory's decoder drops them.
    return node.items
      .map((item, i) => decode(ctx, item as Node | null, spec.seq, [...path, i]))
      .filter((v) => v !== undefined);
  }
  if (spec === "options") {
    if (isNullScalar(node)) return undefined;
    if (node === null || !isMap(node)) return fail(path, "expected a mapping");
    const out: Record<string, unknown> = {};
    for (const [k, v] of pairsOf(ctx, node, path)) {
      if (k === null || !isScalar(k)) return fail(path, "option names must be scalars");
      // A null name is dropped; a timestamp cannot be a name.
      if (isNullScalar(k)) continue;
      const name = textOf(ctx, k);
      if (k.type === "PLAIN" && k.tag === undefined && resolvePlain(name) === "timestamp") {
        fail([...path, name], "a timestamp cannot be an option name");
      }
      const item = decodeAny(ctx, v, [...path, name]);
      if (item !== DROPPED) setOwn(out, name, item);
    }
    return out;
  }
  if (spec === "any") return decodeAny(ctx, node, path);
  if (node === null) return undefined;
  if (!isScalar(node)) fail(path, "expected a scalar");
  const text = textOf(ctx, node);
  const kind = kindOf(node, text, path);
  if (kind === "null") return undefined;
  switch (spec) {
    case "str":
      if (kind === "timestamp") {
        return fail(path, `"${text}" reads as a timestamp, not a string: quote it`);
      }
      return text;
    case "bool": {
      if (kind === "bool") return text.toLowerCase() === "true";
      // YAML 1.1 spellings (yes, off, ...) are taken, quoted or not.
      if (kind === "str" && isOldBool(text)) return /^(y|yes|on)$/i.test(text);
      return fail(path, `expected a boolean, got "${text}"`);
    }
    default: {
      let value: bigint | undefined;
      if (kind === "int") value = parseGoInt(text.replaceAll("_", "")) ?? goBinOct(text);
      else if (kind === "float" && Number.isInteger(Number(text.replaceAll("_", "")))) {
        value = BigInt(Number(text.replaceAll("_", "")));
      }
      if (value === undefined) return fail(path, `expected an integer, got "${text}"`);
      const max = spec === "uint8" ? 255n : 2n ** 64n - 1n;
      if (value < 0n || value > max) return fail(path, `${text} is out of range 0..${max}`);
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    }
  }
}

function goBinOct(text: string): bigint | undefined {
  const m = /^(-?)0([bo])([0-7]+)$/.exec(text.replaceAll("_", ""));
  if (!m) return undefined;
  const v = BigInt(`0${m[2]}${m[3]}`);
  return m[1] === "-" ? -v : v;
}

/** Marks a free-form value the factory's decoder leaves out of its map or list. */
const DROPPED: unique symbol = Symbol("dropped");

/** Free-form values (overlay options) keep the type the factory's resolver gives them. */
function decodeAny(ctx: ReadContext, node: Node | null, path: (string | number)[]): unknown {
  node = deref(ctx, node);
  if (node === null) return null;
  if (isMap(node)) {
    const pairs = pairsOf(ctx, node, path);
    const typed = pairs.some(
      ([k]) =>
        k === null || (isScalar(k) && !isMergeKey(k) && kindOf(k, textOf(ctx, k), path) !== "str"),
    );
    if (typed) {
      // Keys keep their types; a later key equal in value replaces an earlier one.
      const entries = new Map<string, [unknown, unknown]>();
      for (const [k, v] of pairs) {
        if (k !== null && !isScalar(k)) return fail(path, "map keys must be scalars");
        const key = decodeAny(ctx, k, path);
        const item = decodeAny(ctx, v, [...path, String(key)]);
        if (item === DROPPED) continue;
        // NaN equals no key, itself included: every NaN key is an entry of its own.
        const id = Number.isNaN(key)
          ? `nan:${entries.size}`
          : `${typeof key}:${key instanceof YamlFloat ? `f${key.value}` : key instanceof YamlTimestamp ? `t${key.text}` : String(key)}`;
        entries.delete(id);
        entries.set(id, [key, item]);
      }
      return new YamlMap([...entries.values()]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of pairs) {
      const key =
        k !== null && isScalar(k) ? textOf(ctx, k) : fail(path, "map keys must be scalars");
      const item = decodeAny(ctx, v, [...path, key]);
      if (item !== DROPPED) setOwn(out, key, item);
    }
    return out;
  }
  if (isSeq(node)) {
    return node.items
      .map((item, i) => decodeAny(ctx, item as Node | null, [...path, i]))
      .filter((v) => v !== DROPPED);
  }
  if (!isScalar(node)) return fail(path, "unsupported YAML node");
  const text = textOf(ctx, node);
  // A bare "<<" is the merge tag, which a free-form value cannot hold: the factory drops it.
  if (node.type === "PLAIN" && node.tag === undefined && text === "<<") return DROPPED;
  switch (kindOf(node, text, path)) {
    case "null":
      return null;
    case "bool":
      return text.toLowerCase() === "true";
    case "int": {
      // Exactly "-0" is read as the float negative zero, and written back as "-0".
      if (text === "-0") return new YamlFloat(-0);
      const v = parseGoInt(text.replaceAll("_", "")) ?? goBinOct(text) ?? 0n;
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v;
    }
    case "float": {
      const lower = text.toLowerCase();
      const v = lower.endsWith("inf")
        ? lower.startsWith("-")
          ? -Infinity
          : Infinity
        : lower === ".nan"
          ? NaN
          : Number(text.replaceAll("_", ""));
      return Number.isInteger(v) ? new YamlFloat(v) : v;
    }
    case "timestamp":
      return new YamlTimestamp(rfc3339(text));
    default:
      return text;
  }
}

/** A YAML timestamp in the RFC 3339 form the factory writes it back in (UTC unless an offset is given). */
function rfc3339(text: string): string {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?(Z|[-+]\d{2}:\d{2})?)?$/.exec(
      text,
    );
  if (!m) return text;
  const two = (v: string | undefined) => (v ?? "0").padStart(2, "0");
  const frac = (m[7] ?? "").slice(0, 9).replace(/0+$/, "");
  const zone = m[8] === undefined || m[8] === "Z" || /^[-+]00:00$/.test(m[8]) ? "Z" : m[8];
  return `${m[1]}-${two(m[2])}-${two(m[3])}T${two(m[4])}:${two(m[5])}:${two(m[6])}${frac ? `.${frac}` : ""}${zone}`;
}

// --- Canonical form ---

function str(value: string): GoNode {
  return { kind: "str", value };
}

function anyToGo(value: unknown, path: string): GoNode {
  if (value === null || value === undefined) return { kind: "null" };
  if (value instanceof YamlFloat) return { kind: "float", value: value.value };
  if (value instanceof YamlTimestamp) return { kind: "timestamp", value: value.text };
  if (value instanceof YamlMap) {
    const entries = value.entries
      // A NaN key finds no value when the map is written out, so it is written with null.
      .map(([k, v]): [GoNode, GoNode] => [
        anyToGo(k, path),
        Number.isNaN(k) ? { kind: "null" } : anyToGo(v, `${path}.${String(k)}`),
      ])
      .sort(([a], [b]) => compareGoAnyKeys(a, b));
    return { kind: "map", entries };
  }
  switch (typeof value) {
    case "string":
      return str(value);
    case "boolean":
      return { kind: "bool", value };
    case "bigint":
      return { kind: "int", value };
    case "number":
      return Number.isSafeInteger(value)
        ? { kind: "int", value: BigInt(value) }
        : { kind: "float", value };
    case "object": {
      if (Array.isArray(value))
        return { kind: "seq", items: value.map((v, i) => anyToGo(v, `${path}.${i}`)) };
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => compareGoKeys(a, b))
        .map(([k, v]): [string, GoNode] => [k, anyToGo(v, `${path}.${k}`)]);
      return { kind: "map", entries };
    }
    default:
      throw new SchematicError("invalid schematic", [`${path}: ${typeof value} has no YAML form`]);
  }
}

function toGoNode(s: Schematic): GoNode {
  const root: [string, GoNode][] = [];
  if (s.owner) root.push(["owner", str(s.owner)]);
  const o = s.overlay;
  const options =
    o?.options !== undefined ? Object.entries(o.options).filter(([, v]) => v !== undefined) : [];
  if (o && (o.image || o.name || options.length > 0)) {
    const overlay: [string, GoNode][] = [
      ["image", str(o.image ?? "")],
      ["name", str(o.name ?? "")],
    ];
    if (options.length > 0)
      overlay.push(["options", anyToGo(Object.fromEntries(options), "overlay.options")]);
    root.push(["overlay", { kind: "map", entries: overlay }]);
  }
  const c = s.customization ?? {};
  const cust: [string, GoNode][] = [];
  if (c.embeddedMachineConfiguration)
    cust.push(["embeddedMachineConfiguration", str(c.embeddedMachineConfiguration)]);
  if (c.extraKernelArgs?.length)
    cust.push(["extraKernelArgs", { kind: "seq", items: c.extraKernelArgs.map(str) }]);
  if (c.meta?.length) {
    const items = c.meta.map(
      (m): GoNode => ({
        kind: "map",
        entries: [
          ["key", { kind: "int", value: BigInt(m.key) }],
          ["value", str(m.value)],
        ],
      }),
    );
    cust.push(["meta", { kind: "seq", items }]);
  }
  const ext = c.systemExtensions?.officialExtensions;
  if (ext?.length) {
    cust.push([
      "systemExtensions",
      { kind: "map", entries: [["officialExtensions", { kind: "seq", items: ext.map(str) }]] },
    ]);
  }
  if (c.bootloader && c.bootloader !== "none") cust.push(["bootloader", str(c.bootloader)]);
  const sb: [string, GoNode][] = [];
  if (c.secureboot?.enrollKeys) sb.push(["enrollKeys", str(c.secureboot.enrollKeys)]);
  if (c.secureboot?.includeWellKnownCertificates)
    sb.push(["includeWellKnownCertificates", { kind: "bool", value: true }]);
  if (sb.length > 0) cust.push(["secureboot", { kind: "map", entries: sb }]);
  if (c.diskImage?.sectorSize) {
    cust.push([
      "diskImage",
      {
        kind: "map",
        entries: [["sectorSize", { kind: "int", value: BigInt(c.diskImage.sectorSize) }]],
      },
    ]);
  }
  root.push(["customization", { kind: "map", entries: cust }]);
  return { kind: "map", entries: root };
}

function coerce(input: Schematic | SchematicInput | string): Schematic {
  return typeof input === "string" ? parseSchematic(input) : validateSchematicShape(input);
}

/**
 * The YAML text the factory stores for this schematic and hashes into its ID.
 * Accepts a schematic object or YAML/JSON text.
 */
export function canonicalSchematicYaml(input: Schematic | SchematicInput | string): string {
  return emitGoYaml(toGoNode(coerce(input)));
}

/**
 * SHA-256 of a text's UTF-8 bytes, in hex: synchronous, on Node, Deno and browsers alike.
 * @internal
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** The schematic ID, offline and synchronous: SHA-256 hex of the canonical YAML. */
export function schematicId(input: Schematic | SchematicInput | string): string {
  return sha256Hex(canonicalSchematicYaml(input));
}

/** ID of the empty schematic, which stock Talos images use. */
export const VANILLA_SCHEMATIC_ID =
  "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

/**
 * Sorts extension names by byte order, as the factory's web UI does before it
 * stores a schematic. The server keeps whatever order it is sent and order is
 * part of the ID, so sorting makes our IDs match the ones people get from the UI.
 */
export function sortExtensions(names: readonly string[]): string[] {
  return [...names].sort(compareCodePoints);
}

function compareCodePoints(a: string, b: string): number {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const d = ((ar[i] as string).codePointAt(0) ?? 0) - ((br[i] as string).codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return ar.length - br.length;
}

/** Fluent construction of a schematic; `build()` validates and returns a plain object. */
export class SchematicBuilder {
  readonly #s: { overlay?: Overlay; customization: Customization } = { customization: {} };
  #sortExtensions = true;

  /** Adds official extensions (`siderolabs/<name>`; a bare name gets the prefix). Sorted unless `keepExtensionOrder()`. */
  extensions(...names: string[]): this {
    const c = this.#s.customization;
    c.systemExtensions = c.systemExtensions ?? {};
    const list = c.systemExtensions.officialExtensions ?? [];
    for (const name of names) {
      if (typeof name !== "string") {
        throw new SchematicError("invalid schematic", [
          "customization.systemExtensions.officialExtensions: extension names must be strings",
        ]);
      }
      const full = name.includes("/") ? name : `siderolabs/${name}`;
      if (!list.includes(full)) list.push(full);
    }
    c.systemExtensions.officialExtensions = list;
    return this;
  }
  keepExtensionOrder(): this {
    this.#sortExtensions = false;
    return this;
  }
  kernelArgs(...args: string[]): this {
    const c = this.#s.customization;
    c.extraKernelArgs = [...(c.extraKernelArgs ?? []), ...args];
    return this;
  }
  meta(key: number, value: string): this {
    const c = this.#s.customization;
    c.meta = [...(c.meta ?? []), { key, value }];
    return this;
  }
  overlay(name: string, image: string, options?: Record<string, unknown>): this {
    this.#s.overlay = options === undefined ? { image, name } : { image, name, options };
    return this;
  }
  bootloader(kind: BootloaderKind): this {
    this.#s.customization.bootloader = kind;
    return this;
  }
  secureBoot(options: {
    enrollKeys?: EnrollKeysMode;
    includeWellKnownCertificates?: boolean;
  }): this {
    this.#s.customization.secureboot = { ...options };
    return this;
  }
  sectorSize(bytes: number): this {
    this.#s.customization.diskImage = { sectorSize: bytes };
    return this;
  }
  embeddedMachineConfiguration(yaml: string): this {
    this.#s.customization.embeddedMachineConfiguration = yaml;
    return this;
  }
  build(): Schematic {
    const copy = structuredClone(this.#s) as Schematic;
    const ext = copy.customization?.systemExtensions?.officialExtensions;
    if (ext && this.#sortExtensions && copy.customization?.systemExtensions) {
      copy.customization.systemExtensions.officialExtensions = sortExtensions(ext);
    }
    return validateSchematicShape(copy);
  }
  id(): string {
    return schematicId(this.build());
  }
}

/** Starts a schematic builder. */
export function schematic(): SchematicBuilder {
  return new SchematicBuilder();
}
