// Differential test of taloskit's config patching against Talos's own configpatcher
// (the machinery oracles, 1.10 to 1.14): random strategic-merge and JSON6902 patches
// on the configs each release generates; verdicts and results must agree. A
// difference fails with fast-check's shrunk counterexample (config and patch texts).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import fc from "fast-check";
import { ConfigPatchError, patchConfig, rewriteJson6902, unifiedDiff } from "taloskit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeOracles, machinery, type OracleVersion } from "../oracles.js";
import { RUNS, SEED_PARAMETERS } from "./settings.js";

afterAll(closeOracles);

// yaml is a dependency of the taloskit package, not of the repository root
const yaml = createRequire(new URL("../../packages/taloskit/package.json", import.meta.url))(
  "yaml",
) as {
  parseAllDocuments(text: string): { toJS(o: { maxAliasCount: number }): unknown }[];
  stringify(value: unknown, options: { lineWidth: number }): string;
};
const { parseAllDocuments, stringify } = yaml;

/** Share of each family's runs per Talos minor: most on 1.14 and 1.12. */
const SHARE: Record<OracleVersion, number> = {
  "1.14": 0.35,
  "1.12": 0.3,
  "1.13": 0.15,
  "1.11": 0.1,
  "1.10": 0.1,
};
const VERSIONS = Object.keys(SHARE) as OracleVersion[];
const runsOf = (v: OracleVersion) => Math.max(1, Math.round(RUNS * SHARE[v]));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
interface TypeModel {
  kind: string;
  ref?: string;
  elem?: TypeModel;
  key?: TypeModel;
  go?: string;
}
interface FieldModel {
  name: string;
  inline?: boolean;
  pointer?: boolean;
  type: TypeModel;
}
interface Kinds {
  kinds: { kind: string; apiVersion: string; ref: string; named: boolean }[];
  defs: Record<string, { fields: FieldModel[] | null }>;
}
interface Base {
  role: string;
  text: string;
  docs: Obj[];
}
interface Setup {
  bases: Base[];
  kinds: Kinds;
}

const setups = new Map<OracleVersion, Setup>();

beforeAll(async () => {
  for (const v of VERSIONS) {
    const bases: Base[] = [];
    for (const role of ["controlplane", "worker"] as const) {
      const r = await machinery(v).generate(role);
      if (!r.ok || !r.config) throw new Error(`generate ${role} on ${v}: ${r.error}`);
      bases.push({ role, text: r.config, docs: plainDocs(r.config) });
    }
    const k = await machinery(v).kinds();
    setups.set(v, { bases, kinds: k.kinds as Kinds });
  }
});

function plainDocs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS({ maxAliasCount: -1 }) as Obj)
    .filter((d) => d !== null && d !== undefined);
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------- generators

const STRINGS = ["", "a", "b", "x-1", "eth0", "10.0.0.1", "foo.example"];
const DEL = { $patch: "delete" } as const;

function fieldsOf(kinds: Kinds, ref: string | undefined): FieldModel[] {
  const out: FieldModel[] = [];
  for (const f of (ref && kinds.defs[ref]?.fields) || []) {
    if (f.inline && f.type.kind === "struct") out.push(...fieldsOf(kinds, f.type.ref));
    else out.push(f);
  }
  return out;
}

function isStruct(kinds: Kinds, t: TypeModel): boolean {
  return t.kind === "struct" && fieldsOf(kinds, t.ref).length > 0;
}

const anyJson: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom<Json>("a", "b", "", 1, 0, true, false),
    fc.dictionary(fc.constantFrom("a", "b", "c"), tie("v"), { maxKeys: 2 }),
    fc.array(tie("v"), { maxLength: 2 }),
  ),
})).v;

/** Values of other types than a field's: Talos's loader refuses most of them. */
const WRONG = fc.constantFrom<Json>({ a: "b" }, ["a"], "not-a-number", -1, 1.5, "yes");

/** A scalar arbitrary that now and then gives a value of the wrong type. */
function wrong(arb: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc.oneof({ weight: 24, arbitrary: arb }, { weight: 1, arbitrary: WRONG });
}

/**
 * A patch value of type `t`, shaped after the base value `base` when there is one;
 * undefined when nothing valid can be made (a custom type with no example).
 */
function gen(
  kinds: Kinds,
  t: TypeModel,
  base: Json | undefined,
  depth: number,
): fc.Arbitrary<Json> | undefined {
  switch (t.kind) {
    case "string":
      return wrong(fc.constantFrom(...(typeof base === "string" ? [base, ...STRINGS] : STRINGS)));
    case "bool":
      return wrong(fc.boolean());
    case "int":
    case "uint":
      return wrong(fc.constantFrom(...(typeof base === "number" ? [base, 0, 1, 3] : [0, 1, 3])));
    case "any":
      return base !== undefined ? fc.oneof(fc.constant(base), anyJson) : anyJson;
    case "list": {
      const elem = t.elem;
      if (!elem) return undefined;
      const items = Array.isArray(base) ? base : [];
      const itemArbs = [undefined, ...items]
        .map((b) => gen(kinds, elem, b, depth + 1))
        .filter((a): a is fc.Arbitrary<Json> => a !== undefined);
      if (!itemArbs.length) return undefined;
      const itemArb = fc.oneof(...itemArbs);
      const arbs: fc.Arbitrary<Json>[] = [];
      if (depth < 6) arbs.push(fc.array(itemArb, { maxLength: 2 }));
      // delete selectors for list items: first key and value of a base item
      const selectable = items.filter(isObj).flatMap((it) => {
        const first = Object.entries(it).find(
          ([, v]) => typeof v === "string" || typeof v === "number",
        );
        return first ? [{ [first[0]]: first[1] as Json, ...DEL }] : [];
      });
      if (selectable.length) {
        arbs.push(
          fc
            .tuple(fc.constantFrom(...selectable), fc.array(itemArb, { maxLength: 1 }))
            .map(([s, rest]) => [s, ...rest]),
        );
      }
      return arbs.length ? fc.oneof(...arbs) : undefined;
    }
    case "map": {
      const elem = t.elem;
      if (!elem || t.key?.kind !== "string") return undefined;
      const b = isObj(base) ? base : {};
      const keys = [...new Set([...Object.keys(b), "k1", "k2"])];
      const entries = keys.flatMap((k) => {
        const v = gen(kinds, elem, b[k], depth + 1);
        if (!v) return [];
        const withDel = Object.hasOwn(b, k)
          ? fc.oneof(
              { weight: 4, arbitrary: v },
              { weight: 1, arbitrary: fc.constant<Json>({ ...DEL }) },
            )
          : v;
        return [fc.tuple(fc.constant(k), withDel)];
      });
      if (!entries.length) return undefined;
      return fc
        .subarray(entries, { maxLength: Math.min(2, entries.length) })
        .chain((es) => fc.tuple(...es))
        .map((es) => Object.fromEntries(es) as Json);
    }
    case "struct": {
      if (!isStruct(kinds, t) || depth > 7)
        return base !== undefined ? fc.constant(base) : undefined;
      const b = isObj(base) ? base : {};
      const fields = fieldsOf(kinds, t.ref);
      const present = fields.filter((f) => Object.hasOwn(b, f.name));
      const absent = fields.filter(
        (f) =>
          !Object.hasOwn(b, f.name) &&
          ["string", "bool", "int", "uint", "map", "list", "struct"].includes(f.type.kind),
      );
      const entry = (f: FieldModel, del: boolean) => {
        const v = gen(kinds, f.type, b[f.name], depth + 1);
        if (!v && !del) return [];
        const arb =
          v && del
            ? fc.oneof(
                { weight: 5, arbitrary: v },
                { weight: 1, arbitrary: fc.constant<Json>({ ...DEL }) },
              )
            : (v ?? fc.constant<Json>({ ...DEL }));
        return [fc.tuple(fc.constant(f.name), arb)];
      };
      const candidates = [
        ...present.flatMap((f) => entry(f, true)),
        // deleting an absent field succeeds or fails in Talos depending on Go types
        // (struct or pointer) that YAML does not show: the merge follows the model
        ...absent.slice(0, 40).flatMap((f) => entry(f, true)),
      ];
      if (!candidates.length) return undefined;
      return fc
        .subarray(candidates, { minLength: 1, maxLength: Math.min(3, candidates.length) })
        .chain((es) => fc.tuple(...es))
        .map((es) => Object.fromEntries(es) as Json);
    }
    default:
      // custom, bytes and other self-decoding types: only values the base has
      return base !== undefined ? fc.constant(base) : undefined;
  }
}

function kindOf(doc: Obj): string {
  return typeof doc.kind === "string" ? doc.kind : "v1alpha1";
}

function refOfKind(kinds: Kinds, doc: Obj): string | undefined {
  if (kindOf(doc) === "v1alpha1") {
    return Object.keys(kinds.defs).find((d) => d.endsWith("/v1alpha1.Config"));
  }
  return kinds.kinds.find((k) => k.kind === doc.kind)?.ref;
}

const header = (doc: Obj): Obj =>
  kindOf(doc) === "v1alpha1"
    ? {}
    : {
        apiVersion: doc.apiVersion as Json,
        kind: doc.kind as Json,
        ...(doc.name !== undefined ? { name: doc.name as Json } : {}),
      };

/** One strategic patch document: a merge into, or delete of, a base document, or a new named one. */
function patchDocument(s: Setup, base: Base): fc.Arbitrary<Obj> {
  const merges = base.docs.flatMap((doc) => {
    const ref = refOfKind(s.kinds, doc);
    const body = ref ? gen(s.kinds, { kind: "struct", ref }, doc, 0) : undefined;
    if (!body) return [];
    return [
      body.map((b) => {
        const out = { ...header(doc), ...(b as Obj) };
        for (const k of ["apiVersion", "kind", "name", "version"])
          if (k in header(doc)) out[k] = header(doc)[k] as Json;
        delete out.version;
        return out;
      }),
    ];
  });
  const docDeletes = base.docs
    .filter((d) => kindOf(d) !== "v1alpha1")
    .map((d) => fc.constant<Obj>({ ...header(d), ...DEL }));
  const named = s.kinds.kinds.filter((k) => k.named);
  const newNamed = fc
    .tuple(
      fc.constantFrom(...named),
      fc.constantFrom("x", "y", "eth0"),
      fc.nat(3).map((n) => n === 0),
    )
    .chain(([k, name, del]) => {
      // names are shared across kinds: Talos refuses link (and volume) documents of
      // different kinds that share a name
      const head: Obj = { apiVersion: k.apiVersion, kind: k.kind, name };
      if (del) return fc.constant<Obj>({ ...head, ...DEL });
      const body = gen(s.kinds, { kind: "struct", ref: k.ref }, {}, 3);
      return (body ?? fc.constant<Json>({})).map((b) => ({ ...(b as Obj), ...head }));
    });
  return fc.oneof(
    { weight: merges.length ? 6 : 0, arbitrary: merges.length ? fc.oneof(...merges) : newNamed },
    { weight: 1, arbitrary: docDeletes.length ? fc.oneof(...docDeletes) : newNamed },
    { weight: 2, arbitrary: newNamed },
  );
}

function yamlDocs(docs: Obj[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}

// ---------------------------------------------------------------- comparison

interface Verdict {
  ok: boolean;
  text?: string;
  error?: string;
}

function ours(base: string, patches: string[], talosVersion: OracleVersion): Verdict {
  try {
    return { ok: true, text: patchConfig(base, patches, { diff: false, talosVersion }).text };
  } catch (err) {
    if (!(err instanceof ConfigPatchError)) throw err;
    return { ok: false, error: `${err.code}: ${err.message}` };
  }
}

async function normalized(v: OracleVersion, text: string): Promise<Verdict> {
  const r = await machinery(v).normalize(text);
  return r.ok ? { ok: true, text: r.config ?? "" } : { ok: false, error: `${r.stage}: ${r.error}` };
}

function report(v: OracleVersion, base: string, patches: string[], what: string): string {
  return [
    `Talos ${v}: ${what}`,
    "--- patches:",
    ...patches.map((p, i) => `# patch ${i + 1}\n${p}`),
    "--- base:",
    base,
  ].join("\n");
}

/** Cases left out of the comparison because Talos itself failed on them. */
const skipped = { panic: 0, unloadable: 0 };
/** How the compared cases ended in Talos: accepted, or refused at which stage (per version). */
const verdicts = new Map<string, number>();
const panics = new Map<string, number>();

/** Checks one case; returns a description of the difference, or undefined. */
async function differs(
  v: OracleVersion,
  base: string,
  patches: string[],
  compare: "normalize" | "structure",
): Promise<string | undefined> {
  const talos = await machinery(v).patch(base, patches);
  const mine = ours(base, patches, v);
  // a panic inside Talos (recovered by the oracle) is a Talos bug, not a verdict
  const stage = talos.ok ? "accepted" : (talos.stage ?? "?").replace(/ \d+$/, "");
  verdicts.set(`${v} ${stage}`, (verdicts.get(`${v} ${stage}`) ?? 0) + 1);
  if (talos.stage === "panic") {
    const what = `${v}: ${(talos.error ?? "").slice(0, 60)}`;
    panics.set(what, (panics.get(what) ?? 0) + 1);
    skipped.panic++;
    return undefined;
  }
  if (!talos.ok) {
    return mine.ok
      ? report(v, base, patches, `Talos refused (${talos.stage}: ${talos.error}), we accepted`)
      : undefined;
  }
  if (!mine.ok) {
    // Talos before 1.14 may print a config that it cannot load itself (an empty document
    // in place of a missing one it was asked to delete): we refuse those
    if (!(await normalized(v, talos.config ?? "")).ok) {
      skipped.unloadable++;
      return undefined;
    }
    return report(v, base, patches, `Talos accepted, we refused: ${mine.error}`);
  }
  if (compare === "structure") {
    const a = plainDocs(mine.text ?? "");
    const b = plainDocs(talos.config ?? "");
    if (JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))) return undefined;
    return report(
      v,
      base,
      patches,
      `results differ\n--- ours:\n${mine.text}\n--- Talos:\n${talos.config}`,
    );
  }
  const n = await normalized(v, mine.text ?? "");
  if (!n.ok)
    return report(
      v,
      base,
      patches,
      `Talos cannot load our result (${n.error})\n--- ours:\n${mine.text}`,
    );
  if (n.text === talos.config) return undefined;
  const t = await normalized(v, talos.config ?? "");
  if (t.ok && t.text === n.text) return undefined;
  return report(
    v,
    base,
    patches,
    `results differ:\n${unifiedDiff(talos.config ?? "", n.text ?? "", { from: "Talos", to: "ours (normalized)" })}`,
  );
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

async function check(
  property: fc.IAsyncPropertyWithHooks<unknown[]> | fc.IAsyncProperty<unknown[]>,
  numRuns: number,
) {
  const out = await fc.check(property, {
    numRuns,
    ...SEED_PARAMETERS,
    endOnFailure: false,
  });
  if (out.failed) {
    throw new Error(
      `${out.numRuns} runs, seed ${out.seed}, path ${out.counterexamplePath}\n${String(out.errorInstance instanceof Error ? out.errorInstance.message : out.errorInstance)}`,
    );
  }
  return out.numRuns;
}

// ---------------------------------------------------------------- JSON6902

/** Paths (as token lists) of every value in a document. */
function paths(v: Json, at: string[] = []): string[][] {
  const out: string[][] = [at];
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push(...paths(x, [...at, String(i)]));
  } else if (isObj(v)) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

const ptr = (toks: string[]) =>
  toks.map((t) => `/${t.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");

function valueAt(doc: Json, toks: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const t of toks) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObj(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function jsonOps(doc: Obj): fc.Arbitrary<Obj[]> {
  const all = paths(doc).filter((p) => p.length > 0);
  const containers = paths(doc).filter((p) => {
    const v = valueAt(doc, p);
    return typeof v === "object" && v !== null;
  });
  const existing = fc.constantFrom(...all);
  const value = fc.oneof(
    anyJson,
    existing.map((p) => valueAt(doc, p) as Json),
  );
  const newPath = fc
    .tuple(
      fc.constantFrom(...containers),
      fc.constantFrom("newkey", "certSANs", "-", "0", "1", "99"),
    )
    .map(([p, k]) => {
      const c = valueAt(doc, p);
      if (Array.isArray(c) && k !== "-" && !/^\d+$/.test(k)) return [...p, String(c.length)];
      return [...p, k];
    });
  const target = fc.oneof({ weight: 3, arbitrary: existing }, { weight: 1, arbitrary: newPath });
  const op: fc.Arbitrary<Obj> = fc.oneof(
    fc.tuple(target, value).map(([p, v]) => ({ op: "add", path: ptr(p), value: v })),
    target.map((p) => ({ op: "remove", path: ptr(p) })),
    fc.tuple(target, value).map(([p, v]) => ({ op: "replace", path: ptr(p), value: v })),
    fc.tuple(existing, target).map(([f, p]) => ({ op: "move", from: ptr(f), path: ptr(p) })),
    fc.tuple(existing, target).map(([f, p]) => ({ op: "copy", from: ptr(f), path: ptr(p) })),
    fc.tuple(target, fc.boolean()).map(([p, same]) => ({
      op: "test",
      path: ptr(p),
      value: same ? (valueAt(doc, p) ?? null) : "zz",
    })),
  );
  return fc.array(op, { minLength: 1, maxLength: 3 });
}

// ---------------------------------------------------------------- families

describe("config patch against Talos's configpatcher", () => {
  it(`strategic merge patches (${RUNS} cases)`, async () => {
    let total = 0;
    for (const v of VERSIONS) {
      const s = setups.get(v) as Setup;
      const arb = fc.constantFrom(...s.bases).chain((b) =>
        fc.tuple(
          fc.constant(b),
          fc.array(fc.array(patchDocument(s, b), { minLength: 1, maxLength: 3 }), {
            minLength: 1,
            maxLength: 2,
          }),
        ),
      );
      total += await check(
        fc.asyncProperty(arb, async ([b, patches]) => {
          const texts = patches.map((p) => yamlDocs(p));
          const d = await differs(v, b.text, texts, "normalize");
          if (d) throw new Error(d);
        }),
        runsOf(v),
      );
    }
    console.log(
      `strategic: ${total} cases; skipped because Talos failed on them: ${skipped.panic} panics, ${skipped.unloadable} results Talos cannot load\nverdicts: ${JSON.stringify(Object.fromEntries([...verdicts].sort()))}\npanics: ${JSON.stringify(Object.fromEntries(panics))}`,
    );
    expect(total).toBeGreaterThanOrEqual(RUNS);
  });

  it(`JSON6902 patches, single- and multi-document configs (${RUNS} cases)`, async () => {
    let total = 0;
    for (const v of VERSIONS) {
      const s = setups.get(v) as Setup;
      const arb = fc.constantFrom(...s.bases).chain((b) => {
        const first = b.docs[0] as Obj;
        const single = yamlDocs([first]);
        return fc.tuple(
          fc.constantFrom(single, single, b.text),
          jsonOps(first).map((ops) => stringify(ops, { lineWidth: 0 })),
        );
      });
      total += await check(
        fc.asyncProperty(arb, async ([base, patch]) => {
          const d = await differs(v, base, [patch], "structure");
          if (d) throw new Error(d);
        }),
        runsOf(v),
      );
    }
    expect(total).toBeGreaterThanOrEqual(RUNS);
  });

  it("rewritten JSON6902 patches do on a multi-document config what Talos does on the v1alpha1 document alone", async () => {
    let compared = 0;
    const refused = new Map<string, number>();
    for (const v of ["1.14", "1.12", "1.13"] as OracleVersion[]) {
      const s = setups.get(v) as Setup;
      const arb = fc.constantFrom(...s.bases.filter((b) => b.docs.length > 1)).chain((b) =>
        fc.tuple(
          fc.constant(b),
          jsonOps(b.docs[0] as Obj).map((ops) => stringify(ops, { lineWidth: 0 })),
        ),
      );
      await check(
        fc.asyncProperty(arb, async ([b, patch]) => {
          const single = yamlDocs([b.docs[0] as Obj]);
          const talos = await machinery(v).patch(single, [patch]);
          if (!talos.ok) return;
          const expected = await normalized(v, talos.config ?? "");
          if (!expected.ok) return; // Talos's JSON6902 result is not a config it loads
          let rewritten: string;
          try {
            rewritten = rewriteJson6902(b.text, patch).text;
          } catch (err) {
            if (!(err instanceof ConfigPatchError)) throw err;
            refused.set(err.code, (refused.get(err.code) ?? 0) + 1);
            if (err.code !== "CONFIG_JSONPATCH_UNREWRITABLE")
              throw new Error(
                report(
                  v,
                  single,
                  [patch],
                  `Talos applied the patch, the rewrite failed: ${err.message}`,
                ),
              );
            return;
          }
          const full =
            rewritten === ""
              ? { ok: true, config: b.text, error: undefined }
              : await machinery(v).patch(b.text, [rewritten]);
          if (!full.ok)
            throw new Error(
              report(
                v,
                b.text,
                [patch, rewritten],
                `Talos refused the rewritten patch: ${full.error}`,
              ),
            );
          const legacy = (full.config ?? "").split(/^---\n/m)[0] ?? "";
          const got = await normalized(v, legacy);
          if (got.text !== expected.text) {
            throw new Error(
              report(
                v,
                b.text,
                [patch, rewritten],
                `v1alpha1 documents differ:\n${unifiedDiff(expected.text ?? "", got.text ?? got.error ?? "", { from: "JSON6902 on the v1alpha1 document alone", to: "rewritten patch on the whole config" })}`,
              ),
            );
          }
          compared++;
        }),
        runsOf(v) * 2,
      );
    }
    console.log(
      `rewrite: ${compared} cases compared, refused: ${JSON.stringify(Object.fromEntries(refused))}`,
    );
    expect(compared).toBeGreaterThanOrEqual(Math.min(2000, RUNS / 5));
  });
});

// ------------------------------------------- Talos's own cases, judged by the oracle

const CASES = new URL("../../../shared/talos-config/patch-cases/", import.meta.url);

describe("Talos's patch cases (shared/talos-config/patch-cases), expectations from the oracle", () => {
  const read = (name: string) => readFileSync(new URL(name, CASES), "utf8");
  const rows = read("CASES.md")
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| case") && !l.startsWith("|---"))
    .map((l) => l.split("|").map((c) => c.trim()));
  it.each(rows.map((r) => [r[1] ?? "", r[2] ?? "", r[3] ?? ""] as const))(
    "%s",
    async (_name, base, patchList) => {
      const baseText = base === "(empty config)" ? "" : read(base);
      const patches = patchList.split(",").map((p) => read(p.trim()));
      const talos = await machinery("1.14").patch(baseText, patches);
      const mine = ours(baseText, patches, "1.14");
      expect(mine.ok, mine.error).toBe(talos.ok);
      if (!talos.ok) {
        // an empty config text: Talos's loader finds no config, and so do we
        if (baseText === "") expect(mine.error).toContain("CONFIG_NO_DOCUMENTS");
        if (talos.error?.includes("JSON6902"))
          expect(mine.error).toContain("CONFIG_JSONPATCH_MULTIDOC");
        return;
      }
      const a = sortKeys(
        plainDocs((await normalized("1.14", mine.text ?? "")).text ?? mine.text ?? ""),
      );
      const b = sortKeys(
        plainDocs((await normalized("1.14", talos.config ?? "")).text ?? talos.config ?? ""),
      );
      expect(a).toEqual(b);
    },
  );
});
