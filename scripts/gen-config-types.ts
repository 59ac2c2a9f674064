// Generates the typed machine-config documents of taloskit from Talos's machine-config
// JSON Schemas (one per Talos version): a structural copy of each schema with every
// description stripped, TypeScript types, zod schemas, and the kind table.
//
//   npx tsx scripts/gen-config-types.ts <schema-dir> [--check]
//
// <schema-dir> holds config.schema.v<major.minor>.json files. Output goes to
// packages/taloskit/src/config/generated/. With --check, nothing is written and the
// exit code says whether the committed output is up to date.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

type Schema = Record<string, unknown>;

const OUT = resolve(import.meta.dirname, "../packages/taloskit/src/config/generated");
const STRUCTURAL = new Set([
  "$schema",
  "$id",
  "$defs",
  "$ref",
  "type",
  "enum",
  "const",
  "properties",
  "patternProperties",
  "additionalProperties",
  "required",
  "items",
  "oneOf",
  "anyOf",
  "allOf",
  "pattern",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
]);
const MAPS = new Set(["properties", "patternProperties", "$defs"]);

/** Keeps only structural keywords: no descriptions, titles, examples or formats. */
function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (typeof node !== "object" || node === null) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (!STRUCTURAL.has(k)) continue;
    if (MAPS.has(k)) {
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([name, s]) => [name, strip(s)]));
    } else if (k === "enum" || k === "required" || k === "const") {
      out[k] = v;
    } else {
      out[k] = strip(v);
    }
  }
  return out;
}

function typeName(def: string): string {
  return def
    .split(/[.\-_]/)
    .map((p) => (p === "v1alpha1" ? "V1Alpha1" : p.charAt(0).toUpperCase() + p.slice(1)))
    .join("");
}

function refName(ref: string): string {
  const prefix = "#/$defs/";
  if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(prefix.length);
}

function prop(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** TypeScript type of a schema node. */
function tsType(s: Schema): string {
  if (typeof s.$ref === "string") return typeName(refName(s.$ref));
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const union = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (union) return union.map((u) => `(${tsType(u)})`).join(" | ");
  switch (s.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      return s.items ? `Array<${tsType(s.items as Schema)}>` : "unknown[]";
    case "object":
    case undefined: {
      const props = s.properties as Record<string, Schema> | undefined;
      const pattern = s.patternProperties as Record<string, Schema> | undefined;
      const extra = s.additionalProperties;
      if (!props) {
        if (pattern) {
          const values = Object.values(pattern).map(tsType);
          return `{ [key: string]: ${values.join(" | ")} }`;
        }
        if (typeof extra === "object" && extra !== null)
          return `{ [key: string]: ${tsType(extra as Schema)} }`;
        return s.type === "object" ? "{ [key: string]: unknown }" : "unknown";
      }
      const required = new Set((s.required as string[] | undefined) ?? []);
      const lines = Object.entries(props).map(
        ([k, v]) => `  ${prop(k)}${required.has(k) ? "" : "?"}: ${tsType(v)};`,
      );
      return `{\n${lines.join("\n")}\n}`;
    }
    default:
      return "unknown";
  }
}

/** zod expression of a schema node. */
function zodExpr(s: Schema): string {
  if (typeof s.$ref === "string") return `${typeName(refName(s.$ref))}Schema`;
  if (Array.isArray(s.enum)) {
    const lits = s.enum.map((v) => `z.literal(${JSON.stringify(v)})`);
    return lits.length === 1 ? (lits[0] as string) : `z.union([${lits.join(", ")}])`;
  }
  const union = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (union) return `z.union([${union.map(zodExpr).join(", ")}])`;
  switch (s.type) {
    case "string":
      return `z.string()${typeof s.pattern === "string" ? `.regex(new RegExp(${JSON.stringify(s.pattern)}, "u"))` : ""}`;
    case "integer":
    case "number": {
      let e = s.type === "integer" ? "z.number().int()" : "z.number()";
      if (typeof s.minimum === "number") e += `.min(${s.minimum})`;
      if (typeof s.maximum === "number") e += `.max(${s.maximum})`;
      return e;
    }
    case "boolean":
      return "z.boolean()";
    case "array": {
      let e = `z.array(${s.items ? zodExpr(s.items as Schema) : "z.unknown()"})`;
      if (typeof s.minItems === "number") e += `.min(${s.minItems})`;
      return e;
    }
    case "object":
    case undefined: {
      const props = s.properties as Record<string, Schema> | undefined;
      const pattern = s.patternProperties as Record<string, Schema> | undefined;
      const extra = s.additionalProperties;
      if (!props) {
        if (pattern) {
          const values = Object.values(pattern).map(zodExpr);
          return `z.record(z.string(), ${values.length === 1 ? values[0] : `z.union([${values.join(", ")}])`})`;
        }
        if (typeof extra === "object" && extra !== null)
          return `z.record(z.string(), ${zodExpr(extra as Schema)})`;
        return s.type === "object" ? "z.record(z.string(), z.unknown())" : "z.unknown()";
      }
      const required = new Set((s.required as string[] | undefined) ?? []);
      const fields = Object.entries(props).map(
        ([k, v]) => `  ${prop(k)}: ${zodExpr(v)}${required.has(k) ? "" : ".optional()"},`,
      );
      const ctor = extra === false ? "z.strictObject" : "z.looseObject";
      return `${ctor}({\n${fields.join("\n")}\n})`;
    }
    default:
      return "z.unknown()";
  }
}

function refsOf(node: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const n of node) refsOf(n, out);
  else if (typeof node === "object" && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.add(refName(v));
      else refsOf(v, out);
    }
  }
  return out;
}

/** Definitions in dependency order (a definition after everything it refers to). */
function ordered(defs: Record<string, Schema>): string[] {
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: string[] = [];
  const visit = (name: string) => {
    if (done.has(name)) return;
    if (visiting.has(name)) throw new Error(`recursive definition ${name}: not supported`);
    visiting.add(name);
    for (const dep of refsOf(defs[name], new Set())) visit(dep);
    visiting.delete(name);
    done.add(name);
    out.push(name);
  };
  for (const name of Object.keys(defs).sort()) visit(name);
  return out;
}

interface KindEntry {
  id: string;
  apiVersion: string;
  kind: string;
  def: string;
}

function kindsOf(schema: Schema): KindEntry[] {
  const defs = schema.$defs as Record<string, Schema>;
  return (schema.oneOf as Schema[]).map((entry) => {
    const def = refName(entry.$ref as string);
    const props = (defs[def]?.properties ?? {}) as Record<string, Schema>;
    const kind = (props.kind?.enum as string[] | undefined)?.[0];
    if (!kind) return { id: "/v1alpha1", apiVersion: "", kind: "v1alpha1", def };
    const apiVersion = (props.apiVersion?.enum as string[] | undefined)?.[0] ?? "";
    return { id: `${apiVersion}/${kind}`, apiVersion, kind, def };
  });
}

const HEADER =
  "// Generated by scripts/gen-config-types.ts from Talos machine-config JSON Schemas. Do not edit.\n";

/** Builds every output file (name to text) from the schemas in `dir`. */
export function generate(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const versions = readdirSync(dir)
    .map((f) => /^config\.schema\.v(\d+\.\d+)\.json$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
  if (!versions.length) throw new Error(`no config.schema.v*.json in ${dir}`);
  const kindTable: Record<string, KindEntry[]> = {};
  for (const version of versions) {
    const raw = JSON.parse(
      readFileSync(join(dir, `config.schema.v${version}.json`), "utf8"),
    ) as Schema;
    const schema = strip(raw) as Schema;
    const defs = schema.$defs as Record<string, Schema>;
    const tag = version.replace(".", "_");
    const kinds = kindsOf(schema);
    kindTable[version] = kinds;

    const defLines = Object.entries(defs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
    const top = { ...schema };
    delete top.$defs;
    files.set(
      `schema-v${tag}.ts`,
      `${HEADER}// Structure only: descriptions and examples are stripped.\n\n` +
        `/** JSON Schema (draft 2020-12) of the Talos ${version} machine config, structure only. */\n` +
        `export const configSchemaV${tag}: Record<string, unknown> = {\n` +
        Object.entries(top)
          .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`)
          .join("\n") +
        `\n  "$defs": {\n${defLines.join("\n")}\n  },\n};\n`,
    );

    const order = ordered(defs);
    const types = order.map((d) => {
      const t = tsType(defs[d] as Schema);
      return t.startsWith("{")
        ? `export interface ${typeName(d)} ${t}\n`
        : `export type ${typeName(d)} = ${t};\n`;
    });
    const docTypes = kinds.map((k) => typeName(k.def));
    files.set(
      `types-v${tag}.ts`,
      `${HEADER}\n${types.join("\n")}\n/** Any document of a Talos ${version} machine config. */\nexport type ConfigDocument =\n${docTypes.map((t) => `  | ${t}`).join("\n")};\n\n` +
        `/** Document type by kind (\`v1alpha1\` for the legacy document). */\nexport interface DocumentByKind {\n${kinds.map((k) => `  ${prop(k.kind)}: ${typeName(k.def)};`).join("\n")}\n}\n`,
    );

    const zods = order.map(
      (d) =>
        `export const ${typeName(d)}Schema: z.ZodType<T.${typeName(d)}> = ${zodExpr(defs[d] as Schema)};\n`,
    );
    files.set(
      `zod-v${tag}.ts`,
      `${HEADER}import { z } from "zod";\nimport type * as T from "./types-v${tag}.js";\n\n${zods.join("\n")}\n` +
        `/** zod schema of each document kind (\`v1alpha1\` for the legacy document). */\nexport const documentSchemas: { [K in keyof T.DocumentByKind]: z.ZodType<T.DocumentByKind[K]> } = {\n${kinds.map((k) => `  ${prop(k.kind)}: ${typeName(k.def)}Schema,`).join("\n")}\n};\n`,
    );
  }
  const tags = versions.map((v) => v.replace(".", "_"));
  files.set(
    "kinds.ts",
    `${HEADER}\n/** Talos versions whose machine-config schema taloskit carries. */\nexport const CONFIG_VERSIONS = ${JSON.stringify(versions)} as const;\n\n` +
      `/** One document kind of a version: its id (\`apiVersion/kind\`) and schema definition. */\nexport interface KindInfo {\n  id: string;\n  apiVersion: string;\n  kind: string;\n  def: string;\n}\n\n` +
      `/** Document kinds per Talos version. */\nexport const KINDS_BY_VERSION: Record<(typeof CONFIG_VERSIONS)[number], readonly KindInfo[]> = {\n` +
      versions
        .map(
          (v) =>
            `  ${JSON.stringify(v)}: [\n${(kindTable[v] ?? []).map((k) => `    ${JSON.stringify(k)},`).join("\n")}\n  ],`,
        )
        .join("\n") +
      "\n};\n",
  );
  files.set(
    "index.ts",
    `${HEADER}\nexport * from "./kinds.js";\n${tags
      .map(
        (t) =>
          `export type * as TypesV${t} from "./types-v${t}.js";\nexport * as ZodV${t} from "./zod-v${t}.js";\nexport { configSchemaV${t} } from "./schema-v${t}.js";\nimport { configSchemaV${t} } from "./schema-v${t}.js";`,
      )
      .join(
        "\n",
      )}\n\n/** Structural JSON Schema per Talos version. */\nexport const CONFIG_SCHEMAS: Record<string, Record<string, unknown>> = {\n${versions
      .map((v) => `  ${JSON.stringify(v)}: configSchemaV${v.replace(".", "_")},`)
      .join("\n")}\n};\n`,
  );
  return files;
}

function main(): void {
  const args = process.argv.slice(2);
  const check = args.includes("--check");
  const dir = args.find((a) => !a.startsWith("--"));
  if (!dir) {
    console.error("usage: gen-config-types.ts <schema-dir> [--check]");
    process.exit(2);
  }
  const files = generate(resolve(dir));
  if (check) {
    const stale = [...files].filter(
      ([name, text]) =>
        !existsSync(join(OUT, name)) || readFileSync(join(OUT, name), "utf8") !== text,
    );
    if (stale.length) {
      console.error(`out of date: ${stale.map(([n]) => n).join(", ")}`);
      process.exit(1);
    }
    console.log("config types are up to date");
  } else {
    mkdirSync(OUT, { recursive: true });
    for (const [name, text] of files) writeFileSync(join(OUT, name), text);
    console.log(`wrote ${files.size} files to ${OUT}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) main();
