// Differential tests of our schematic reader, canonical printer and offline
// IDs against the Image Factory's own schematic package (the oracle built in
// conformance/schematic from image-factory v1.4.0, the newest release the Go
// module proxy serves; it knows every field our model has: owner, overlay
// image/name/options, embeddedMachineConfiguration, extraKernelArgs, meta,
// systemExtensions.officialExtensions, bootloader, secureboot.enrollKeys,
// secureboot.includeWellKnownCertificates, diskImage.sectorSize).
//
// Generated schematics are written out as YAML (block and flow style, every
// scalar style) and, separately, as JSON, since users post both. For each text
// the oracle's verdict (accept or reject), ID and canonical bytes must equal
// ours; a rejection on our side must be our typed SchematicError. A failure
// prints the shrunk input text. CONFORMANCE_RUNS sets the number of cases,
// CONFORMANCE_SEED replays the run of a seed, CONFORMANCE_DUMP=<dir> writes
// the shrunk failing input there as files.
//
// Then every schematic of the real-world corpora in ../shared is checked the
// same way, and the recorded factory IDs of homelabs/schematic-ids.json too.
//
// Every field of the model is generated. Not generated (known or possible
// differences, none seen in real schematics):
// - a U+FEFF ending exactly at a 512-byte boundary of the input: the
//   factory's reader misreads it (see skipped() below);
// - plain (unquoted) scalars holding NEL, U+2028 or U+2029, and multi-line
//   quoted scalars whose continuation lines are less indented than their
//   key, which the factory reads and our reader refuses;
// - anchors, aliases, merge keys and tags, which only the hand-picked cases
//   below cover;
// - NaN next to numeric keys in a nested option map, where the factory's own
//   key order is not stable from one run to the next.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  canonicalSchematicYaml,
  parseSchematic,
  SchematicError,
  schematicId,
} from "@taloskit/factory";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { closeOracles, type OracleResponse, schematicOracle } from "../oracles.js";
import { RUNS, SEED_PARAMETERS } from "./settings.js";

afterAll(closeOracles);

/** Replays a run: fast-check prints the seed of a failing one. */
const repoRoot = new URL("../..", import.meta.url).pathname;
const sharedDir = join(repoRoot, "..", "shared");

// --- A tiny YAML document model, so that one generated value can be written in many ways ---

type Style = "plain" | "single" | "double" | "escaped" | "literal";
type YNode =
  | { k: "scalar"; text: string; style: Style }
  | { k: "empty" }
  | { k: "seq"; items: YNode[]; flow: boolean }
  | { k: "map"; entries: [YNode, YNode][]; flow: boolean };

const scalar = (text: string, style: Style = "plain"): YNode => ({ k: "scalar", text, style });
const key = (name: string): YNode => scalar(name);

function hasCodeIn(text: string, ...ranges: [number, number][]): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (ranges.some(([lo, hi]) => c >= lo && c <= hi)) return true;
  }
  return false;
}

/** Text that YAML reads as a plain scalar with exactly these characters (in block context; flow also excludes ,[]{}). */
function plainSafe(text: string, flow: boolean): boolean {
  if (text.length === 0 || text !== text.trim()) return false;
  if (hasCodeIn(text, [0, 0x1f], [0x7f, 0x9f], [0x2028, 0x2029], [0xfeff, 0xfeff])) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(text) && !/^[-?:][^\s,[\]{}]/.test(text)) return false;
  if (/^(---|\.\.\.)/.test(text)) return false;
  if (/: |:$| #|\t/.test(text)) return false;
  if (flow && /[,[\]{}]/.test(text)) return false;
  if (flow && /:/.test(text)) return false;
  return true;
}

function escapeYaml(text: string): string {
  let s = "";
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (c === 0x22) s += '\\"';
    else if (c === 0x5c) s += "\\\\";
    else if (c >= 0x20 && c <= 0x7e) s += ch;
    else if (c === 0x0a) s += "\\n";
    else if (c === 0x09) s += "\\t";
    else if (c === 0x85) s += "\\N";
    else if (c === 0xa0) s += "\\_";
    else if (c === 0x2028) s += "\\L";
    else if (c === 0x2029) s += "\\P";
    else if (c === 0x1b) s += "\\e";
    else if (c <= 0xff) s += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c <= 0xffff) s += `\\u${c.toString(16).padStart(4, "0")}`;
    else s += `\\U${c.toString(16).padStart(8, "0")}`;
  }
  return `"${s}"`;
}

/** Can the text be written as a literal block scalar that reads back unchanged? */
function literalSafe(text: string): boolean {
  if (!text.includes("\n") || /^[ \n]/.test(text)) return false;
  if (hasCodeIn(text, [0, 0x08], [0x0b, 0x1f], [0x7f, 0x9f], [0x2028, 0x2029], [0xfeff, 0xfeff])) {
    return false;
  }
  // A line made of spaces only before the first content line would set the indentation.
  return !/\n +\n/.test(text) && !/\n +$/.test(text);
}

function renderScalar(text: string, style: Style, flow: boolean, indent: number): string {
  switch (style) {
    case "plain":
      if (plainSafe(text, flow)) return text;
      return escapeYaml(text);
    case "single":
      if (/[\n\r\u0085\u2028\u2029]/.test(text)) return escapeYaml(text);
      return `'${text.replaceAll("'", "''")}'`;
    case "double":
      return JSON.stringify(text);
    case "escaped":
      return escapeYaml(text);
    case "literal": {
      if (flow || !literalSafe(text)) return escapeYaml(text);
      const trailing = /\n*$/.exec(text)?.[0].length ?? 0;
      const chomp = trailing === 0 ? "-" : trailing === 1 ? "" : "+";
      const body = trailing === 0 ? text : text.slice(0, -trailing);
      const pad = " ".repeat(indent + 2);
      const lines = body.split("\n").map((l) => (l === "" ? "" : pad + l));
      return `|${chomp}\n${lines.join("\n")}${"\n".repeat(Math.max(trailing - 1, 0))}`;
    }
  }
}

function renderFlow(node: YNode): string {
  switch (node.k) {
    case "scalar":
      return renderScalar(node.text, node.style === "literal" ? "escaped" : node.style, true, 0);
    case "empty":
      return "";
    case "seq":
      return `[${node.items.map((i) => (i.k === "empty" ? "null" : renderFlow(i))).join(", ")}]`;
    case "map":
      return `{${node.entries.map(([k, v]) => `${renderFlow(k)}: ${renderFlow(v)}`).join(", ")}}`;
  }
}

/** Block-style YAML; `indent` is the column of the enclosing collection. */
function renderBlock(node: YNode, indent: number): string {
  const pad = " ".repeat(indent);
  if (node.k === "scalar" || node.k === "empty" || node.flow) return renderInline(node, indent);
  if (node.k === "seq") {
    if (node.items.length === 0) return "[]";
    return node.items
      .map((item, i) => {
        const head = i === 0 ? "" : pad;
        if (item.k === "map" && !item.flow && item.entries.length > 0) {
          return `${head}- ${renderBlock(item, indent + 2)}`;
        }
        if (item.k === "seq" && !item.flow && item.items.length > 0) {
          return `${head}-\n${pad}  ${renderBlock(item, indent + 2)}`;
        }
        const v = renderInline(item, indent + 2);
        return v === "" ? `${head}-` : `${head}- ${v}`;
      })
      .join("\n");
  }
  if (node.entries.length === 0) return "{}";
  return node.entries
    .map(([k, v], i) => {
      const head = `${i === 0 ? "" : pad}${renderInline(k, indent)}:`;
      if (v.k === "map" && !v.flow && v.entries.length > 0) {
        return `${head}\n${pad}  ${renderBlock(v, indent + 2)}`;
      }
      if (v.k === "seq" && !v.flow && v.items.length > 0) {
        return `${head}\n${pad}  ${renderBlock(v, indent + 2)}`;
      }
      const s = renderInline(v, indent);
      return s === "" ? head : `${head} ${s}`;
    })
    .join("\n");
}

function renderInline(node: YNode, indent: number): string {
  if (node.k === "scalar") return renderScalar(node.text, node.style, false, indent);
  if (node.k === "empty") return "";
  return renderFlow(node);
}

/** JSON text of the document: plain scalars that are JSON literals stay bare, the rest are strings. */
function renderJson(node: YNode): string {
  switch (node.k) {
    case "scalar": {
      const bare =
        node.style === "plain" &&
        (/^(true|false|null)$/.test(node.text) ||
          /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(node.text));
      return bare ? node.text : JSON.stringify(node.text);
    }
    case "empty":
      return "null";
    case "seq":
      return `[${node.items.map(renderJson).join(",")}]`;
    case "map":
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k.k === "scalar" ? k.text : "")}:${renderJson(v)}`).join(",")}}`;
  }
}

// --- Generators ---

const TRICKY = [
  "",
  " ",
  "  ",
  "yes",
  "no",
  "on",
  "off",
  "y",
  "n",
  "Y",
  "NO",
  "Off",
  "true",
  "True",
  "FALSE",
  "~",
  "null",
  "Null",
  "NULL",
  "1e3",
  "1E3",
  "1e+3",
  "0x1F",
  "0X1f",
  "0o17",
  "0O17",
  "017",
  "08",
  "0b101",
  "1_000",
  "-0",
  "+1",
  "-1",
  ".5",
  "1.",
  "1.0",
  "1.20",
  "-1.5e-3",
  ".inf",
  "-.Inf",
  "+.INF",
  ".NaN",
  ".nan",
  "1:20",
  "12:30:45",
  "-1:30",
  "2001-12-14",
  "2001-12-14t21:59:43.10-05:00",
  "2001-12-14 21:59:43.10",
  "<<",
  "=",
  "-",
  "- a",
  "a: b",
  "a:b",
  ":",
  "?",
  "? a",
  "#",
  "a #b",
  "a#b",
  "'",
  '"',
  "''",
  "\\",
  "\\n",
  "\n",
  "a\nb",
  "a\n",
  "a\n\n",
  "\n\n",
  "a\n b",
  "a \nb",
  "\t",
  "a\tb",
  "\r\n",
  "é",
  "日本",
  "😀",
  "\u{1F600}x",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\ufeff",
  "\u0000",
  "\u0007",
  "\u001b",
  "\u007f",
  "\u0080",
  "\ufffe",
  "\u{10FFFF}",
  "---",
  "...",
  "--- a",
  "[a]",
  "{a}",
  "a,b",
  "&a",
  "*a",
  "!t",
  "!!str",
  "|",
  "> x",
  "%x",
  "@x",
  "`x",
  " a",
  "a ",
  "a  b",
  "console=ttyS0,115200",
  "net.ifnames=0",
  "siderolabs/iscsi-tools",
  ".1_000",
  "._1",
  "1_",
  "0x_1F",
  "1__0",
  "1e400",
  "-.5",
  "+0",
  "\r",
  "a\rb",
  "a? b",
  "a?",
  "\u2028--- a",
  "toString",
  "__proto__",
  "constructor",
  "hasOwnProperty",
];

const tricky = fc.constantFrom(...TRICKY);
const anyString = fc
  .oneof(
    { weight: 4, arbitrary: tricky },
    { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 6 }) },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.oneof(tricky, fc.string({ maxLength: 4 })), { minLength: 2, maxLength: 3 })
        .map((parts) => parts.join("")),
    },
    {
      // Past 128 bytes a key no longer fits before ":"; long lines must not be wrapped.
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(tricky, fc.string({ maxLength: 4 })), fc.integer({ min: 20, max: 70 }))
        .map(([piece, n]) => `${piece}x `.repeat(n).slice(0, 300)),
    },
  )
  // The oracle gets its input through JSON, which has no lone surrogates.
  .map((s) =>
    s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  );
const styleOf = fc.constantFrom<Style>("plain", "plain", "single", "double", "escaped", "literal");
const strNode = fc.record({ text: anyString, style: styleOf }).map((r) => scalar(r.text, r.style));
const nullNode = fc.oneof(
  fc.constant<YNode>({ k: "empty" }),
  fc.constantFrom("~", "null", "Null", "NULL").map((t) => scalar(t)),
);

/** A scalar written from a list of spellings (numbers, bools, ...), bare or sometimes quoted. */
function spelled(spellings: string[]): fc.Arbitrary<YNode> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...spellings).map((t) => scalar(t)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...spellings), fc.constantFrom<Style>("single", "double"))
        .map(([t, s]) => scalar(t, s)),
    },
  );
}

const flowFlag = fc.boolean();
const seqOf = (item: fc.Arbitrary<YNode>, maxLength = 4) =>
  fc
    .tuple(fc.array(item, { maxLength }), flowFlag)
    .map(([items, flow]): YNode => ({ k: "seq", items, flow }));

/** A mapping of optional fields, in random order, sometimes with an unknown field. */
function fields(spec: Record<string, fc.Arbitrary<YNode>>, unknownWeight = 1): fc.Arbitrary<YNode> {
  const names = Object.keys(spec);
  const present = fc.record(
    Object.fromEntries(
      names.map((n) => [n, fc.option(spec[n] as fc.Arbitrary<YNode>, { freq: 2 })]),
    ),
  ) as fc.Arbitrary<Record<string, YNode | null>>;
  const unknown = fc.oneof(
    { weight: 20 * unknownWeight, arbitrary: fc.constant(null) },
    fc.tuple(
      fc.constantFrom(
        "toString",
        "constructor",
        "__proto__",
        "hasOwnProperty",
        "valueOf",
        "Owner",
        "extensions",
        "x",
      ),
      strNode,
    ),
  );
  return fc
    .tuple(
      present,
      unknown,
      fc.array(fc.nat(), { minLength: names.length, maxLength: names.length }),
      flowFlag,
    )
    .map(([values, extra, order, flow]): YNode => {
      const entries: [YNode, YNode][] = names
        .map((n, i) => ({ n, v: values[n], o: order[i] ?? 0 }))
        .filter((e) => e.v !== null && e.v !== undefined)
        .sort((a, b) => a.o - b.o)
        .map((e) => [key(e.n), e.v as YNode]);
      if (extra) entries.push([key(extra[0]), extra[1]]);
      return { k: "map", entries, flow: flow && entries.length < 3 };
    });
}

const INTS = ["0", "1", "10", "255", "256", "-1", "0x0a", "0xFF", "0o17", "017", "0b11", "1_0"];
const FLOATS = ["1.0", "1e2", "10.5", "-0.0", ".inf", ".nan", "3.", "1_0.5"];
const metaKey = spelled([
  ...INTS,
  ...FLOATS,
  "1:20",
  "true",
  "yes",
  "x",
  "~",
  "",
  "18446744073709551616",
]);
const metaValue = fc.oneof(strNode, nullNode);
const metaItem = fields({ key: metaKey, value: metaValue }, 4);

const boolNode = spelled([
  "true",
  "false",
  "True",
  "FALSE",
  "yes",
  "no",
  "on",
  "Off",
  "y",
  "n",
  "1",
  "0",
  "x",
  "~",
]);
const uintNode = spelled([
  ...INTS,
  "512",
  "4096",
  "18446744073709551615",
  "18446744073709551616",
  "-4096",
  "4096.0",
  "4e3",
  "0.5",
  "abc",
]);
const bootloaderNode = fc.oneof(
  spelled([
    "none",
    "dual-boot",
    "sd-boot",
    "grub",
    "SD-BOOT",
    "Grub",
    "NONE",
    "Dual-Boot",
    "auto",
    "",
    "1",
    "sdboot",
    "~",
  ]),
  strNode,
);

const optionScalar = fc.oneof(
  strNode,
  spelled([
    ...INTS,
    ...FLOATS,
    "true",
    "False",
    "yes",
    "~",
    "null",
    "2001-12-14",
    "1:20",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551616",
    "1e400",
    "0.1",
    "123456789.125",
    "1e-7",
    "100000000000000000000",
  ]),
  nullNode,
);
const optionKey = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "a",
      "b",
      "a1",
      "a10",
      "a2",
      "A",
      "_",
      "1",
      "10",
      "2",
      "configTxtAppend",
      "x01",
      "x1",
    ),
  },
  { weight: 2, arbitrary: anyString },
);
const optionValue: fc.Arbitrary<YNode> = fc.letrec<{ v: YNode }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 5, arbitrary: optionScalar },
    { weight: 1, arbitrary: seqOf(tie("v"), 3) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.uniqueArray(
            fc.tuple(
              fc.tuple(optionKey, fc.constantFrom<Style>("plain", "double", "escaped", "single")),
              tie("v"),
            ),
            {
              maxLength: 3,
              selector: ([[k]]) => k,
            },
          ),
          flowFlag,
        )
        .map(
          ([entries, flow]): YNode => ({
            k: "map",
            entries: entries.map(([[k, s], v]) => [scalar(k, s), v]),
            flow,
          }),
        ),
    },
  ),
})).v;
const optionsNode = fc
  .tuple(
    fc.uniqueArray(
      fc.tuple(
        fc.tuple(optionKey, fc.constantFrom<Style>("plain", "double", "escaped", "single")),
        optionValue,
      ),
      {
        maxLength: 4,
        selector: ([[k]]) => k,
      },
    ),
    flowFlag,
  )
  .map(
    ([entries, flow]): YNode => ({
      k: "map",
      entries: entries.map(([[k, s], v]) => [scalar(k, s), v]),
      flow,
    }),
  );

const schematicNode = fields(
  {
    owner: strNode,
    overlay: fields({ image: strNode, name: strNode, options: fc.oneof(optionsNode, nullNode) }, 3),
    customization: fields(
      {
        embeddedMachineConfiguration: strNode,
        extraKernelArgs: fc.oneof(
          {
            weight: 5,
            arbitrary: seqOf(
              fc.oneof({ weight: 6, arbitrary: strNode }, { weight: 1, arbitrary: nullNode }),
            ),
          },
          { weight: 1, arbitrary: nullNode },
        ),
        meta: fc.oneof(
          { weight: 5, arbitrary: seqOf(metaItem, 3) },
          { weight: 1, arbitrary: nullNode },
        ),
        systemExtensions: fields({ officialExtensions: seqOf(strNode) }, 4),
        bootloader: bootloaderNode,
        secureboot: fields(
          {
            enrollKeys: fc.oneof(spelled(["off", "manual", "if-safe", "force"]), strNode),
            includeWellKnownCertificates: boolNode,
          },
          4,
        ),
        diskImage: fields({ sectorSize: uintNode }, 4),
      },
      3,
    ),
  },
  3,
);

// --- Comparison ---

interface Verdict {
  ok: boolean;
  id?: string;
  canonical?: string;
  error?: string;
}

function ours(text: string): Verdict {
  try {
    const parsed = parseSchematic(text);
    return { ok: true, canonical: canonicalSchematicYaml(parsed), id: schematicId(text) };
  } catch (e) {
    if (!(e instanceof SchematicError)) {
      return { ok: false, error: `untyped error ${String((e as Error)?.stack ?? e)}` };
    }
    return { ok: false, error: e.message };
  }
}

/** Empty when both agree; otherwise a report with the input and both answers. */
function difference(label: string, text: string, oracle: OracleResponse, our: Verdict): string {
  const problems: string[] = [];
  if (our.error?.startsWith("untyped error"))
    problems.push("our rejection is not a SchematicError");
  if (oracle.ok !== our.ok) {
    problems.push(
      oracle.ok ? "the factory accepts it, we reject it" : "the factory rejects it, we accept it",
    );
  } else if (oracle.ok) {
    if (oracle.canonical !== our.canonical) problems.push("canonical YAML differs");
    if (oracle.schematicId !== our.id) problems.push("ID differs");
  }
  if (problems.length === 0) return "";
  return [
    `${label}: ${problems.join("; ")}`,
    `--- input ---\n${text}`,
    `--- input (JSON string) ---\n${JSON.stringify(text)}`,
    `--- factory --- ok=${oracle.ok} ${oracle.ok ? `id=${oracle.schematicId}\n${oracle.canonical}` : `${oracle.stage}: ${oracle.error}`}`,
    `--- ours --- ok=${our.ok} ${our.ok ? `id=${our.id}\n${our.canonical}` : our.error}`,
  ].join("\n");
}

/**
 * The factory's YAML reader misreads a U+FEFF that sits at the end of one of
 * its 512-byte reads of the input when more lines follow (it then fails with
 * "did not find expected key", or not, depending on what follows). We do not
 * copy that reader bug; texts with a U+FEFF within the last bytes before a
 * 512-byte boundary are left out of the comparison.
 */
function skipped(text: string): boolean {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbb && bytes[i + 2] === 0xbf) {
      const end = i + 3;
      if (end > 512 - 8 && (end % 512 === 0 || end % 512 > 512 - 8)) return true;
    }
  }
  return false;
}

async function compare(label: string, text: string): Promise<string> {
  const oracle = await schematicOracle().id(text);
  return difference(label, text, oracle, ours(text));
}

describe("schematics agree with the Image Factory's own code", () => {
  it(`${RUNS} generated schematics, as YAML and as JSON`, async () => {
    const oracle = schematicOracle();
    await fc.assert(
      fc.asyncProperty(schematicNode, async (doc) => {
        const yaml = `${renderBlock(doc, 0)}\n`;
        const json = renderJson(doc);
        // Both requests are in flight at once; our side runs while the oracle works.
        const answers = Promise.all([oracle.id(yaml), oracle.id(json)]);
        const mine = [ours(yaml), ours(json)] as const;
        const [fy, fj] = await answers;
        const report = [
          skipped(yaml) ? "" : difference("YAML", yaml, fy, mine[0]),
          skipped(json) ? "" : difference("JSON", json, fj, mine[1]),
        ]
          .filter((r) => r !== "")
          .join("\n\n");
        if (report !== "") {
          // CONFORMANCE_DUMP=<dir> keeps the last failing inputs as files, byte for byte.
          const dump = process.env.CONFORMANCE_DUMP;
          if (dump) {
            writeFileSync(join(dump, "schematic-failure.yaml"), yaml);
            writeFileSync(join(dump, "schematic-failure.json"), json);
          }
          throw new Error(report);
        }
      }),
      { numRuns: RUNS, ...SEED_PARAMETERS },
    );
  });

  it("hand-picked edge cases", async () => {
    const cases = [
      "",
      "{}",
      "---\n",
      "customization:\n",
      "customization: ~\n",
      "toString: x\n",
      "customization:\n  toString: 1\n",
      "__proto__: {}\n",
      "customization: {constructor: x}\n",
      "overlay: {hasOwnProperty: 1}\n",
      "customization: {meta: [{key: 1, value: a, hasOwnProperty: b}]}\n",
      "customization:\n  extraKernelArgs: [a, a]\ncustomization: {}\n",
      "overlay: {options: {a: 1, a: 2}}\n",
      "overlay: {options: {1: a, '1': b}}\n",
      "overlay: {options: {~: a}}\n",
      "overlay: {options: {? [a]: b}}\n",
      "overlay: {name: x, options: {a: !!binary aGk=}}\n",
      "overlay: {name: x, options: {a: &x [1], b: *x}}\n",
      "overlay: {name: x, options: {<<: {a: 1}}}\n",
      "customization: {bootloader: !!str grub}\n",
      "customization: {extraKernelArgs: [!!int 1]}\n",
      "customization: {meta: [{key: !!str 1, value: a}]}\n",
      "customization:\n  extraKernelArgs:\n    - a\n---\ncustomization: {}\n",
      "# only a comment\n",
      "[]\n",
      "x\n",
      "customization: []\n",
      "\ufeffcustomization: {}\n",
      "...\n",
      "customization: {}\n...\n",
      "%YAML 1.1\n---\ncustomization: {}\n",
      "--- !!map\ncustomization: {}\n",
      "customization: {extraKernelArgs: !!seq [a]}\n",
      "customization: {extraKernelArgs: [!!str yes, !!binary aGk=, !custom x]}\n",
      "customization: {meta: [{key: !!int '7', value: !!str 1}]}\n",
      "customization: {meta: [{key: !!float 7, value: a}]}\n",
      "customization: {secureboot: {includeWellKnownCertificates: !!bool 'true'}}\n",
      "customization: {secureboot: {includeWellKnownCertificates: !!str true}}\n",
      "customization: {diskImage: {sectorSize: !!str 512}}\n",
      "customization: {bootloader: !!null ''}\n",
      "customization: {bootloader: 1}\n",
      "customization: {bootloader: yes}\n",
      "customization: {bootloader: [grub]}\n",
      "overlay: {name: x, options: {a: !!str 1, b: !!int '3', c: !!float 1, d: !!bool 'yes', e: !!null x}}\n",
      "overlay: {name: x, options: {a: !!timestamp 2001-12-14, f: !custom x, g: !!binary aGk=}}\n",
      "overlay: {name: x, options: {a: !!float '1', b: !!int 0x10, c: !!str ~}}\n",
      "overlay: {name: x, options: {? [1, 2]: a}}\n",
      "overlay: {name: x, options: {a: {? {b: 1}: c}}}\n",
      "overlay: {name: x, options: {a: {[1]: c}}}\n",
      "overlay: {name: x, options: {a: {1: x, 0x1: y}}}\n",
      "overlay: {name: x, options: {a: {.nan: x, .NaN: y}}}\n",
      "overlay: {name: x, options: {a: {2001-12-14: x, b: y}}}\n",
      "overlay: {name: x, options: {<<: [{a: 1}, {a: 2}]}}\n",
      "overlay: {name: x, options: {<<: 5}}\n",
      "overlay: {name: x, options: {a: {<<: {b: 1}, c: 2}}}\n",
      "base: &b {bootloader: grub}\n",
      "customization: &c {bootloader: grub}\noverlay: {name: *c}\n",
      "customization: {extraKernelArgs: &a [x, y], meta: [{key: 1, value: *a}]}\n",
      "customization:\n  extraKernelArgs: [&x a, *x, *x]\n",
      "customization:\n  <<: &m {bootloader: grub}\n  extraKernelArgs: [x]\n",
      "customization:\n  extraKernelArgs: >\n    folded\n    text\n",
      "customization:\n  embeddedMachineConfiguration: |\n    a: 1\n\n    b: 2\n",
      "customization:\n  embeddedMachineConfiguration: |+\n    a\n\n",
      "owner: 'a\n  b'\n",
      'owner: "a\\\n   b"\n',
      "owner: a\n  b\n",
      "owner: a # comment\n",
      "owner: a#b\n",
      'owner: "\\u00e9\\x41\\U0001F600\\N\\_\\L\\P\\e\\0"\n',
      "owner: x\r\ncustomization: {}\r\n",
      "owner: x\rcustomization: {}\r",
      "customization:\n\textraKernelArgs: [a]\n",
      '{"customization": {"extraKernelArgs": ["a",]}}',
      '{"customization": {"meta": [{"key": 1.0, "value": "a"}]}}',
      '{"customization": {"meta": [{"key": 1e0, "value": "a"}]}}',
      '{"overlay": {"name": "x", "options": {"a": 1.0, "b": 1e2, "c": -0.0, "d": 12345678901234567890}}}',
    ];
    const reports = await Promise.all(cases.map((c) => compare("edge case", c)));
    expect(reports.filter((r) => r !== "")).toEqual([]);
  });

  it("keys named after built-in object members, at every level, as YAML and JSON", async () => {
    const names = [
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "valueOf",
      "hasOwnProperty",
      "isPrototypeOf",
      "propertyIsEnumerable",
      "toLocaleString",
      "__defineGetter__",
      "__lookupSetter__",
    ];
    // Where an unknown key sits: each mapping of the schematic, then as free-form names and values.
    const places: ((k: string) => unknown)[] = [
      (k) => ({ [k]: "x" }),
      (k) => ({ overlay: { name: "x", [k]: 1 } }),
      (k) => ({ customization: { [k]: {} } }),
      (k) => ({ customization: { systemExtensions: { [k]: ["a"] } } }),
      (k) => ({ customization: { secureboot: { [k]: true } } }),
      (k) => ({ customization: { diskImage: { [k]: 512 } } }),
      (k) => ({ customization: { meta: [{ key: 1, value: "a", [k]: "b" }] } }),
      (k) => ({ overlay: { name: "x", options: { [k]: 1, a: { [k]: [k] } } } }),
      (k) => ({ customization: { systemExtensions: { officialExtensions: [k] } } }),
      (k) => ({ customization: { extraKernelArgs: [k, `${k}=1`], meta: [{ key: 2, value: k }] } }),
      (k) => ({ owner: k, customization: { bootloader: k } }),
    ];
    // Each document as JSON (a computed "__proto__" key is an own key, which
    // JSON.stringify keeps) and as YAML flow style with single quotes.
    const forms = (doc: unknown): string[] => {
      const json = JSON.stringify(doc);
      return [json, `${json.replaceAll('"', "'")}\n`];
    };
    // The first seven places put the key where the factory knows no such field.
    for (const k of names) {
      for (const t of places.slice(0, 7).flatMap((place) => forms(place(k)))) {
        const our = ours(t);
        expect(our.ok, t).toBe(false);
        expect(our.error, t).toContain(`unknown field "${k}"`);
      }
    }
    const texts = names.flatMap((k) => places.flatMap((place) => forms(place(k))));
    const reports = await Promise.all(texts.map((t) => compare("object-member key", t)));
    expect(reports.filter((r) => r !== "")).toEqual([]);
  });
});

// --- Corpora of real schematics ---

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** A YAML file whose top-level keys are schematic fields only, with overlay or customization among them. */
function isSchematicFile(path: string): boolean {
  if (!/\.ya?ml$/.test(path)) return false;
  const keys = [...readFileSync(path, "utf8").matchAll(/^([^\s#-][^:]*):/gm)].map((m) => m[1]);
  return (
    keys.some((k) => k === "overlay" || k === "customization") &&
    keys.every((k) => k === "owner" || k === "overlay" || k === "customization")
  );
}

const corpusFiles = [join(sharedDir, "realworld", "schematics"), join(sharedDir, "homelabs")]
  .flatMap(walk)
  .filter(isSchematicFile)
  .sort();

interface RecordedId {
  name: string;
  canonical: string;
  id: string;
}
const idsPath = join(sharedDir, "homelabs", "schematic-ids.json");
const recorded: RecordedId[] = existsSync(idsPath)
  ? (JSON.parse(readFileSync(idsPath, "utf8")) as RecordedId[])
  : [];

describe("real-world schematics", () => {
  it("the corpora are there", () => {
    expect(corpusFiles.length).toBeGreaterThan(30);
    expect(recorded.length).toBeGreaterThan(10);
  });

  it.each(corpusFiles.map((f) => [relative(sharedDir, f), f]))("%s", async (_name, path) => {
    const text = readFileSync(path, "utf8");
    const oracle = await schematicOracle().id(text);
    expect(oracle.ok, oracle.error).toBe(true);
    expect(difference(path, text, oracle, ours(text))).toBe("");
    const json = JSON.stringify(parseSchematic(text));
    expect(await compare(`${path} as JSON`, json)).toBe("");
  });

  it.each(recorded.map((r) => [r.name, r]))("recorded ID: %s", async (_name, r) => {
    const oracle = await schematicOracle().id(r.canonical);
    expect(oracle.schematicId).toBe(r.id);
    expect(oracle.canonical).toBe(r.canonical);
    expect(difference(r.name, r.canonical, oracle, ours(r.canonical))).toBe("");
  });
});
