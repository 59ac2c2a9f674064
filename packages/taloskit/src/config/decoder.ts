// Decodes config documents the way Talos's config loader does, driven by the generated
// per-version model: strict keys, YAML scalar resolution as Go's YAML decoder performs it
// (YAML 1.2 core resolution, plus the YAML 1.1 boolean words for bool fields), range
// checks by bit size, Go durations, and lenient acceptance of self-decoding types whose
// rules we cannot see.
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Scalar,
  type YAMLMap,
} from "yaml";
import type { ConfigIssue } from "./errors.js";
import { MODEL_BY_VERSION, MODEL_DEFS, type ModelField } from "./generated/model.js";

export type ModelVersion = keyof typeof MODEL_BY_VERSION;

/** A problem found while decoding, with the dotted path where it is. */
export interface DecodeIssue {
  path: string;
  rule: string;
  message: string;
}

/** Collected results of decoding one document. */
export interface DecodeResult {
  issues: DecodeIssue[];
  warnings: DecodeIssue[];
}

interface FieldInfo {
  type: string;
  deprecated?: string;
}

interface StructInfo {
  fields: Map<string, FieldInfo>;
  /** Element type of an inline map, which takes every other key. */
  rest?: string;
}

const structCache = new Map<string, StructInfo | undefined>();

/** The fields of a struct in a version, with inline structs flattened. */
export function structInfo(version: ModelVersion, name: string): StructInfo | undefined {
  const key = `${version}|${name}`;
  if (structCache.has(key)) return structCache.get(key);
  const idx = MODEL_BY_VERSION[version].types[name];
  let info: StructInfo | undefined;
  if (idx !== undefined) {
    info = { fields: new Map() };
    addFields(version, MODEL_DEFS[idx] ?? [], info);
  }
  structCache.set(key, info);
  return info;
}

function addFields(version: ModelVersion, fields: readonly ModelField[], into: StructInfo): void {
  for (const [name, type, flags, deprecated] of fields) {
    if (flags?.includes("i")) {
      if (type.startsWith("#")) {
        const inner = structInfo(version, type.slice(1));
        if (inner) {
          for (const [k, v] of inner.fields) into.fields.set(k, v);
          if (inner.rest) into.rest = inner.rest;
        }
      } else if (type.startsWith("{")) {
        into.rest = type.slice(1);
      }
      continue;
    }
    into.fields.set(name, deprecated ? { type, deprecated } : { type });
  }
}

/** What a plain YAML scalar resolves to in Go's YAML decoder. */
export type Resolved =
  | { t: "null" }
  | { t: "bool"; v: boolean }
  | { t: "int"; v: bigint }
  | { t: "float"; v: number }
  | { t: "str"; v: string };

const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const TRUES = new Set(["true", "True", "TRUE"]);
const FALSES = new Set(["false", "False", "FALSE"]);
const YAML11_TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"]);
const YAML11_FALSE = new Set(["n", "N", "no", "No", "NO", "off", "Off", "OFF"]);
const INF = new Set([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"]);
const NEG_INF = new Set(["-.inf", "-.Inf", "-.INF"]);
const NAN = new Set([".nan", ".NaN", ".NAN"]);
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** Go's integer syntax with base prefix detection (sign, 0x, 0o, 0b, leading-0 octal). */
function goInt(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2] as string;
  let v: bigint;
  if (/^0[oO]/.test(body)) v = BigInt(`0o${body.slice(2)}`);
  else if (/^0[0-7]+$/.test(body)) v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  return m[1] === "-" ? -v : v;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Resolves the text of a plain (unquoted, untagged) scalar. */
export function resolvePlain(text: string): Resolved {
  if (NULLS.has(text)) return { t: "null" };
  if (TRUES.has(text)) return { t: "bool", v: true };
  if (FALSES.has(text)) return { t: "bool", v: false };
  if (INF.has(text)) return { t: "float", v: Number.POSITIVE_INFINITY };
  if (NEG_INF.has(text)) return { t: "float", v: Number.NEGATIVE_INFINITY };
  if (NAN.has(text)) return { t: "float", v: Number.NaN };
  const c = text[0] ?? "";
  if ("+-.0123456789".includes(c)) {
    const plain = text.replaceAll("_", "");
    const i = goInt(plain);
    if (i !== undefined && i >= INT64_MIN && i <= UINT64_MAX) return { t: "int", v: i };
    if (FLOAT_RE.test(plain)) {
      const f = Number(plain);
      if (Number.isFinite(f)) return { t: "float", v: f };
    }
  }
  return { t: "str", v: text };
}

function scalarText(node: Scalar): string {
  const src = (node as Scalar & { source?: string }).source;
  if (typeof src === "string") return src;
  return node.value === null || node.value === undefined ? "" : String(node.value);
}

/** Resolves a scalar node: quoted, block and `!!str` scalars are strings. */
export function resolveScalar(node: Scalar): Resolved {
  if (typeof (node as Scalar & { source?: string }).source !== "string") {
    // Built from plain data rather than parsed: the JS type says what it is.
    const v = node.value;
    if (v === null || v === undefined) return { t: "null" };
    if (typeof v === "boolean") return { t: "bool", v };
    if (typeof v === "bigint") return { t: "int", v };
    if (typeof v === "number")
      return Number.isInteger(v) ? { t: "int", v: BigInt(v) } : { t: "float", v };
    return { t: "str", v: String(v) };
  }
  const text = scalarText(node);
  if (node.tag === "tag:yaml.org,2002:str") return { t: "str", v: text };
  if (node.tag === "tag:yaml.org,2002:null") return { t: "null" };
  if (node.type && node.type !== "PLAIN") return { t: "str", v: text };
  return resolvePlain(text);
}

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** True when Go's time.ParseDuration accepts the text. */
export function isGoDuration(text: string): boolean {
  let s = text;
  if (s.startsWith("+") || s.startsWith("-")) s = s.slice(1);
  if (s === "0") return true;
  if (s === "") return false;
  const re = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || m[1] === "" || m[1] === ".") return false;
    if (!((m[2] as string) in UNITS)) return false;
    s = s.slice(m[0].length);
  }
  return true;
}

function bitsOf(type: string): number {
  return Number(type.slice(1)) || 64;
}

function yamlTagOf(r: Resolved): string {
  return r.t === "null" ? "!!null" : r.t === "str" ? "!!str" : `!!${r.t}`;
}

function goTypeName(type: string): string {
  if (type === "s") return "string";
  if (type === "b") return "bool";
  if (type === "d") return "time.Duration";
  if (type.startsWith("i")) return type === "i64" ? "int" : `int${type.slice(1)}`;
  if (type.startsWith("u")) return type === "u64" ? "uint64" : `uint${type.slice(1)}`;
  if (type.startsWith("f")) return `float${type.slice(1)}`;
  if (type.startsWith("[")) return `[]${goTypeName(type.slice(1))}`;
  if (type.startsWith("{")) return `map[string]${goTypeName(type.slice(1))}`;
  if (type.startsWith("#")) return type.slice(1);
  if (type.startsWith("T:") || type.startsWith("U:")) return type.slice(2).split("=")[0] as string;
  return type;
}

/** True when Go's standard base64 decoding accepts the text (line breaks are skipped). */
export function isBase64(text: string): boolean {
  const s = text.replace(/[\r\n]/g, "");
  // Talos's certificate types take back the redaction marker that talosctl prints.
  if (/^\*+$/.test(s)) return true;
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** Decodes one YAML node against a model type, collecting issues. */
export class NodeDecoder {
  readonly issues: DecodeIssue[] = [];
  readonly warnings: DecodeIssue[] = [];

  constructor(
    readonly version: ModelVersion,
    readonly doc: Document,
    /** Patch documents may hold `$patch: delete` in any mapping. */
    readonly allowDelete = false,
  ) {}

  private isDelete(node: Node): boolean {
    if (!this.allowDelete || !isMap(node)) return false;
    return node.items.some((p) => {
      const k = this.deref(p.key as Node);
      const v = this.deref(p.value as Node);
      return isScalar(k) && scalarText(k) === "$patch" && isScalar(v) && scalarText(v) === "delete";
    });
  }

  /** yaml.v3 (1.10, 1.11) truncates floats into ints; v4 (1.12+) needs them integral. */
  private get truncatesFloats(): boolean {
    return this.version === "1.10" || this.version === "1.11" || this.version === "1.12";
  }

  private fail(path: string, rule: string, message: string): void {
    this.issues.push({ path, rule, message });
  }

  /** A mapping's entries as [key text, value]; a key that is not a scalar is an issue. */
  private *entries(node: YAMLMap, path: string): Generator<[string, Node]> {
    for (const pair of node.items) {
      const key = this.deref(pair.key as Node);
      if (!key || !isScalar(key)) {
        this.fail(path, "type", "a mapping key must be a scalar");
        continue;
      }
      yield [scalarText(key), pair.value as Node];
    }
  }

  private deref(node: Node | null | undefined): Node | null {
    let n: unknown = node ?? null;
    for (let i = 0; i < 64 && isAlias(n); i++) n = n.resolve(this.doc) ?? null;
    return (n as Node | null) ?? null;
  }

  private kindName(node: Node): string {
    if (isMap(node)) return "!!map";
    if (isSeq(node)) return "!!seq";
    if (isScalar(node)) return yamlTagOf(resolveScalar(node));
    return "?";
  }

  private typeError(path: string, node: Node, type: string): void {
    // The value itself is not shown: it may be a secret put in the wrong field.
    this.fail(path, "type", `cannot decode ${this.kindName(node)} into ${goTypeName(type)}`);
  }

  /** Checks `node` against `type` at `path`. */
  value(input: Node | null | undefined, type: string, path: string): void {
    const node = this.deref(input);
    if (node === null) return;
    if (isScalar(node) && resolveScalar(node).t === "null") return;
    if (this.isDelete(node)) return;
    const head = type[0];
    if (type === "a") return;
    if (head === "#") {
      this.struct(node, type.slice(1), path);
      return;
    }
    if (head === "[") {
      if (!isSeq(node)) {
        this.typeError(path, node, type);
        return;
      }
      node.items.forEach((item, i) => {
        this.value(item as Node, type.slice(1), path ? `${path}.${i}` : String(i));
      });
      return;
    }
    if (head === "{") {
      if (!isMap(node)) {
        this.typeError(path, node, type);
        return;
      }
      for (const [k, value] of this.entries(node, path)) {
        this.value(value, type.slice(1), path ? `${path}.${k}` : k);
      }
      return;
    }
    if (head === "T" || head === "U") {
      this.custom(node, type, path);
      return;
    }
    if (type === "y") return;
    if (!isScalar(node)) {
      this.typeError(path, node, type);
      return;
    }
    this.scalar(node, type, path);
  }

  private scalar(node: Scalar, type: string, path: string): void {
    const r = resolveScalar(node);
    const text = scalarText(node);
    const bad = () => this.typeError(path, node, type);
    if (type === "s") return;
    if (type === "b") {
      if (r.t === "bool") return;
      if (r.t === "str" && (YAML11_TRUE.has(text) || YAML11_FALSE.has(text))) return;
      bad();
      return;
    }
    if (type === "d") {
      if (r.t === "str" && isGoDuration(text)) return;
      // Up to 1.12 a duration is text only; 1.13 also takes the integer 0, and 1.14 the
      // integer 0 or any integral float (a non-zero integer stays an error).
      const minor = Number(this.version.split(".")[1]);
      if (minor >= 13 && r.t === "int" && r.v === 0n) return;
      if (minor >= 14 && r.t === "float" && Number.isInteger(r.v)) return;
      bad();
      return;
    }
    const head = type[0];
    if (head === "i" || head === "u") {
      const bits = BigInt(bitsOf(type));
      const [min, max] =
        head === "i" ? [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n] : [0n, 2n ** bits - 1n];
      let v: bigint | undefined;
      if (r.t === "int") v = r.v;
      else if (r.t === "float") {
        if (Number.isNaN(r.v) || !Number.isFinite(r.v)) v = undefined;
        else if (this.truncatesFloats) v = BigInt(Math.trunc(r.v));
        else if (Number.isInteger(r.v)) v = BigInt(r.v);
      }
      if (v === undefined || v < min || v > max) {
        if (v !== undefined) {
          this.fail(path, "range", `value is out of range for ${goTypeName(type)}`);
          return;
        }
        bad();
        return;
      }
      return;
    }
    if (head === "f") {
      if (r.t === "int" || r.t === "float") return;
      bad();
      return;
    }
  }

  private custom(node: Node, type: string, path: string): void {
    const under = type.includes("=") ? type.slice(type.indexOf("=") + 1) : "";
    if (isScalar(node)) {
      if (type.startsWith("U:v1alpha1.Base64Bytes") && !isBase64(scalarText(node)))
        this.fail(path, "base64", "illegal base64 data");
      return;
    }
    if (isMap(node)) {
      if (type.startsWith("U:meta.ArgValue") || type.startsWith("U:v1alpha1.ArgValue")) {
        this.fail(path, "type", "arg value must be a string or list of strings");
        return;
      }
      if (under.startsWith("#")) {
        this.keysOnly(node, under.slice(1), path);
        return;
      }
      if (type.startsWith("U:")) return;
      this.typeError(path, node, type);
      return;
    }
    if (isSeq(node)) {
      if (type.startsWith("U:meta.URL")) {
        this.typeError(path, node, type);
        return;
      }
      if (under.startsWith("[")) {
        this.value(node, under, path);
        return;
      }
      if (under === "y" || type.startsWith("U:")) return;
      this.typeError(path, node, type);
      return;
    }
  }

  /** A self-decoding struct still has its keys checked against its fields. */
  private keysOnly(node: Node, name: string, path: string): void {
    const info = structInfo(this.version, name);
    if (!info || !isMap(node)) return;
    for (const pair of node.items) {
      const key = this.deref(pair.key as Node);
      const k = key && isScalar(key) ? scalarText(key) : "?";
      const at = path ? `${path}.${k}` : k;
      const field = info.fields.get(k);
      if (!field && info.rest === undefined) {
        this.fail(at, "additionalProperties", `unknown field "${k}"`);
      }
      const value = this.deref(pair.value as Node);
      if (field?.type === "y" && value && isScalar(value) && resolveScalar(value).t !== "null") {
        if (!isBase64(scalarText(value))) this.fail(at, "base64", "illegal base64 data");
      }
    }
  }

  /** Checks a mapping against a struct: every key known, every value of its field's type. */
  struct(input: Node, name: string, path: string): void {
    const node = this.deref(input);
    if (node === null) return;
    const info = structInfo(this.version, name);
    if (!info) return;
    if (!isMap(node)) {
      this.typeError(path, node, `#${name}`);
      return;
    }
    if (this.isDelete(node) && path !== "") return;
    for (const [k, raw] of this.entries(node, path)) {
      const at = path ? `${path}.${k}` : k;
      const field = info.fields.get(k);
      if (!field) {
        if (info.rest !== undefined) {
          this.value(raw, info.rest, at);
          continue;
        }
        this.fail(at, "additionalProperties", `unknown field "${k}"`);
        continue;
      }
      const value = this.deref(raw);
      if (
        field.deprecated &&
        value !== null &&
        !(isScalar(value) && resolveScalar(value).t === "null")
      ) {
        const by =
          field.deprecated === "-"
            ? "no direct replacement is named"
            : `use ${field.deprecated.split(",").join(" or ")} instead`;
        this.warnings.push({
          path: at,
          rule: "deprecated",
          message: `"${k}" is deprecated: ${by}`,
        });
      }
      this.value(value, field.type, at);
    }
  }
}

/** Text of a scalar as Go's decoder sees it (for kind, apiVersion and name). */
export function scalarValue(node: unknown): string | undefined {
  if (isScalar(node)) return scalarText(node);
  return undefined;
}

export type { ConfigIssue };
