// The schematic model: what a Talos image is built from. The ID of a
// schematic is the SHA-256 of its canonical YAML, computed here offline and
// synchronously, byte for byte as the factory computes it.
import { isMap, isScalar, isSeq, type Node, parseDocument } from "yaml";
import { z } from "zod";
import { SchematicError } from "./errors.js";
import {
  compareGoKeys,
  emitGoYaml,
  type GoNode,
  isOldBool,
  parseGoInt,
  resolvePlain,
} from "./goyaml.js";
import { sha256Hex } from "./sha256.js";

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
  options: z.record(z.string(), z.unknown()).optional(),
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
  diskImage: z.strictObject({ sectorSize: z.number().int().min(0).optional() }).optional(),
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
    result.error.issues.map(
      (i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`,
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
  | { seq: FieldSpec }
  | { map: Record<string, FieldSpec> };

const SPEC: FieldSpec = {
  map: {
    owner: "str",
    overlay: { map: { image: "str", name: "str", options: "any" } },
    customization: {
      map: {
        embeddedMachineConfiguration: "str",
        extraKernelArgs: { seq: "str" },
        meta: { seq: { map: { key: "uint8", value: "str" } } },
        systemExtensions: { map: { officialExtensions: { seq: "str" } } },
        bootloader: "str",
        secureboot: { map: { enrollKeys: "str", includeWellKnownCertificates: "bool" } },
        diskImage: { map: { sectorSize: "uint" } },
      },
    },
  },
};

/**
 * Parses schematic YAML or JSON (any key order, any formatting) with the
 * factory's decoding rules: unknown fields are errors, a scalar read into a
 * string field keeps its text (`- 1` is the string "1"), `0xa` is a valid key.
 */
export function parseSchematic(text: string): Schematic {
  const doc = parseDocument(text, { schema: "failsafe", uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SchematicError(
      "schematic is not valid YAML or JSON",
      doc.errors.map((e) => e.message.split("\n")[0] ?? e.message),
      "SCHEMATIC_PARSE",
    );
  }
  const value = decode(doc.contents as Node | null, SPEC, []);
  return validateSchematicShape(value ?? {});
}

function isNullScalar(node: Node | null): boolean {
  if (node === null) return true;
  return isScalar(node) && node.type === "PLAIN" && resolvePlain(String(node.value)) === "null";
}

function fail(path: (string | number)[], message: string): never {
  throw new SchematicError(
    "invalid schematic",
    [`${path.length > 0 ? path.join(".") : "(root)"}: ${message}`],
    "SCHEMATIC_PARSE",
  );
}

function decode(node: Node | null, spec: FieldSpec, path: (string | number)[]): unknown {
  if (typeof spec === "object" && "map" in spec) {
    if (isNullScalar(node)) return undefined;
    if (!isMap(node)) fail(path, "expected a mapping");
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key)
        ? String(pair.key.value)
        : fail(path, "map keys must be scalars");
      const fieldSpec = spec.map[key];
      if (fieldSpec === undefined) fail([...path, key], "unknown field");
      const value = decode(pair.value as Node | null, fieldSpec, [...path, key]);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  if (typeof spec === "object") {
    if (isNullScalar(node)) return undefined;
    if (!isSeq(node)) fail(path, "expected a sequence");
    return node.items.map(
      (item, i) => decode(item as Node | null, spec.seq, [...path, i]) ?? zeroOf(spec.seq),
    );
  }
  if (spec === "any") return decodeAny(node, path);
  if (node === null) return undefined;
  if (!isScalar(node)) fail(path, "expected a scalar");
  const text = String(node.value);
  const plain = node.type === "PLAIN" && node.tag === undefined;
  if (plain && resolvePlain(text) === "null") return undefined;
  switch (spec) {
    case "str":
      return text;
    case "bool": {
      const kind = plain ? resolvePlain(text) : "str";
      if (kind === "bool") return text.toLowerCase() === "true";
      if (isOldBool(text)) return /^(y|yes|on)$/i.test(text);
      return fail(path, `expected a boolean, got "${text}"`);
    }
    default: {
      const kind = plain ? resolvePlain(text) : "str";
      let value: bigint | undefined;
      if (kind === "int") value = parseGoInt(text.replaceAll("_", "")) ?? goBinOct(text);
      else if (kind === "float" && Number.isInteger(Number(text))) value = BigInt(Number(text));
      if (value === undefined) return fail(path, `expected an integer, got "${text}"`);
      const max = spec === "uint8" ? 255n : 2n ** 64n - 1n;
      if (value < 0n || value > max) return fail(path, `${text} is out of range 0..${max}`);
      return Number(value);
    }
  }
}

function zeroOf(spec: FieldSpec): unknown {
  if (spec === "str") return "";
  if (spec === "bool") return false;
  if (spec === "uint8" || spec === "uint") return 0;
  if (spec === "any") return null;
  return typeof spec === "object" && "map" in spec ? {} : [];
}

function goBinOct(text: string): bigint | undefined {
  const m = /^(-?)0([bo])([0-7]+)$/.exec(text.replaceAll("_", ""));
  if (!m) return undefined;
  const v = BigInt(`0${m[2]}${m[3]}`);
  return m[1] === "-" ? -v : v;
}

/** Free-form values (overlay options) keep the type the factory's resolver gives them. */
function decodeAny(node: Node | null, path: (string | number)[]): unknown {
  if (node === null) return null;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key)
        ? String(pair.key.value)
        : fail(path, "map keys must be scalars");
      out[key] = decodeAny(pair.value as Node | null, [...path, key]);
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((item, i) => decodeAny(item as Node | null, [...path, i]));
  if (!isScalar(node)) return fail(path, "unsupported YAML node");
  const text = String(node.value);
  if (node.type !== "PLAIN" || node.tag !== undefined) return text;
  switch (resolvePlain(text)) {
    case "null":
      return null;
    case "bool":
      return text.toLowerCase() === "true";
    case "int": {
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
    default:
      return text;
  }
}

// --- Canonical form ---

function str(value: string): GoNode {
  return { kind: "str", value };
}

function anyToGo(value: unknown, path: string): GoNode {
  if (value === null || value === undefined) return { kind: "null" };
  if (value instanceof YamlFloat) return { kind: "float", value: value.value };
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
