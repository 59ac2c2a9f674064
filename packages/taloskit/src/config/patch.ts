// Loading patches (strategic merge or JSON6902) and applying a series of them to a
// config: a pure function from (base text, patches) to (merged text, diff).
import { readFileSync } from "node:fs";
import { Document, isMap, isSeq, type YAMLMap } from "yaml";
import { type ConfigDiff, diffDocuments } from "./diff.js";
import {
  type ConfigDocument,
  type DocumentRef,
  LEGACY_KIND,
  parseConfig,
  parseYamlDocuments,
  printConfig,
  refOf,
} from "./documents.js";
import { ConfigPatchError, JSONPATCH_MULTIDOC_MESSAGE } from "./errors.js";
import { applyJsonPatch, type JsonPatchOperation, parseJsonPatch } from "./jsonpatch.js";
import type { ModelVersion } from "./merge-rules.js";
import {
  applySelector,
  type DeleteSelector,
  mergeDocument,
  PATCH_KEY,
  splitPatchDocument,
  stripMarkers,
} from "./strategic.js";
import { validateYamlDocuments } from "./validate.js";
import { CONFIG_VERSIONS, checkKind, configVersion, kindInfo } from "./versions.js";

/** A loaded patch: strategic-merge documents, or a JSON6902 operation list. */
export type ConfigPatch =
  | { type: "strategic"; documents: Document.Parsed[]; source: string }
  | { type: "json6902"; operations: JsonPatchOperation[]; source: string };

function looksLikeJsonPatch(doc: Document.Parsed): boolean {
  const c = doc.contents;
  return isSeq(c) && c.items.length > 0 && c.items.every((i) => isMap(i) && i.has("op"));
}

/**
 * Loads one patch from YAML or JSON text. A list of `{op, path, ...}` is a JSON6902
 * patch; anything else must be one or more mapping documents (a strategic patch).
 */
export function loadPatch(text: string, source = "patch"): ConfigPatch {
  const docs = parseYamlDocuments(text, source);
  const first = docs[0];
  if (docs.length === 1 && first && isSeq(first.contents)) {
    if (!looksLikeJsonPatch(first)) {
      throw new ConfigPatchError(
        "CONFIG_BAD_PATCH",
        `${source}: a list is only valid as a JSON6902 patch (items with op and path)`,
      );
    }
    return {
      type: "json6902",
      operations: parseJsonPatch(first.toJS({ maxAliasCount: -1 }), source),
      source,
    };
  }
  docs.forEach((d, i) => {
    if (!isMap(d.contents)) {
      throw new ConfigPatchError(
        "CONFIG_BAD_PATCH",
        `${source}: document ${i + 1} is not a mapping (a strategic patch is a config document)`,
      );
    }
  });
  return { type: "strategic", documents: docs, source };
}

/** Builds a strategic patch from plain objects (one per document), e.g. builder output. */
export function strategicPatch(documents: readonly object[], source = "patch"): ConfigPatch {
  return {
    type: "strategic",
    documents: documents.map((d) => new Document(d) as unknown as Document.Parsed),
    source,
  };
}

/** Options for loading patches given as talosctl-style arguments. */
export interface LoadPatchesOptions {
  /** Reads `@file` arguments; defaults to reading from the local file system. */
  readFile?: (path: string) => string;
}

/** Loads patches given like talosctl's `--config-patch`: `@file` reads a file, else inline text. */
export function loadPatches(
  specs: readonly string[],
  options: LoadPatchesOptions = {},
): ConfigPatch[] {
  const read = options.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  return specs.map((spec) => {
    if (!spec.startsWith("@")) return loadPatch(spec, "inline patch");
    const path = spec.slice(1);
    let text: string;
    try {
      text = read(path);
    } catch (cause) {
      throw new ConfigPatchError("CONFIG_BAD_PATCH", `cannot read patch file ${path}`, { cause });
    }
    return loadPatch(text, path);
  });
}

/** Options of {@link patchConfig}. */
export interface PatchConfigOptions {
  /** Target Talos version (e.g. `1.14`): kinds it does not know are errors. */
  talosVersion?: string;
  /** Compute the diff (default true; the merge is faster without it). */
  diff?: boolean;
}

/** Result of {@link patchConfig}. */
export interface PatchConfigResult {
  /** The merged config as YAML (comments and key order of the base kept). */
  text: string;
  /** Ids of the merged documents, in order. */
  documents: DocumentRef[];
  /** What changed, unless `diff: false` was asked. */
  diff?: ConfigDiff;
}

function newDocument(patch: Document.Parsed, ref: DocumentRef): ConfigDocument {
  const doc = patch.clone() as Document.Parsed;
  stripMarkers(doc.contents);
  const map = doc.contents as YAMLMap;
  if (ref.kind === LEGACY_KIND && !map.has("version")) {
    map.items.unshift(doc.createPair("version", "v1alpha1"));
  }
  return { ref, doc };
}

/** One step of a strategic patch, in the order Talos applies them. */
type Step =
  | { type: "delete"; selector: DeleteSelector }
  | { type: "merge"; ref: DocumentRef; doc: Document.Parsed };

/**
 * Reads a strategic patch as Talos's patch loader does: every document gives its delete
 * selectors, then what is left of it; the deletes aimed at the v1alpha1 document come
 * first, everything else keeps its order. What is left is decoded with the version's
 * model (wrong value types, unknown fields and kinds are refused here).
 */
function planStrategic(
  patch: Extract<ConfigPatch, { type: "strategic" }>,
  version: ModelVersion,
  known: boolean,
): Step[] {
  const legacyDeletes: Step[] = [];
  const rest: Step[] = [];
  const seen = new Set<string>();
  patch.documents.forEach((pdoc, i) => {
    const what = `${patch.source}, document ${i + 1}`;
    const doc = pdoc.clone() as Document.Parsed;
    const { selectors, body } = splitPatchDocument(doc.contents as YAMLMap, what);
    for (const selector of selectors) {
      (selector.id === `/${LEGACY_KIND}` ? legacyDeletes : rest).push({ type: "delete", selector });
    }
    if (!body) return;
    const ref = refOf(body);
    checkKind(ref, known ? version : undefined);
    // before 1.14 the patch loader refuses a document given twice
    if (seen.has(ref.id) && older(version, "1.14"))
      throw new ConfigPatchError(
        "CONFIG_BAD_PATCH",
        `${what}: duplicate document '${ref.id}' is not allowed`,
        { document: ref.id },
      );
    seen.add(ref.id);
    const decoded = validateYamlDocuments([doc], version, { partial: true });
    const issue = decoded.issues[0];
    if (issue)
      throw new ConfigPatchError(
        "CONFIG_BAD_PATCH",
        `${what}: document '${ref.id}' path '${issue.path}' (${issue.rule}): ${issue.message}`,
        { document: ref.id, path: issue.path, issues: decoded.issues },
      );
    rest.push({ type: "merge", ref, doc });
  });
  const steps = [...legacyDeletes, ...rest];
  if (steps.length === 0)
    throw new ConfigPatchError(
      "CONFIG_BAD_PATCH",
      `${patch.source}: no config documents found in the patch`,
    );
  return steps;
}

function older(version: ModelVersion, than: string): boolean {
  const [a = 0, b = 0] = version.split(".").map(Number);
  const [c = 0, d = 0] = than.split(".").map(Number);
  return a < c || (a === c && b < d);
}

function structOf(ref: DocumentRef, version: ModelVersion, known: boolean): string | undefined {
  return (kindInfo(ref, known ? version : undefined) ?? kindInfo(ref))?.def;
}

function applyStrategic(
  docs: ConfigDocument[],
  patch: Extract<ConfigPatch, { type: "strategic" }>,
  version: ModelVersion,
  known: boolean,
): ConfigDocument[] {
  let out = docs;
  // ids are looked up in the config as it was before the patch, less what the patch
  // deletes, plus (from Talos 1.14) what it adds
  const index = new Map<string, ConfigDocument>(out.map((d) => [d.ref.id, d]));
  for (const step of planStrategic(patch, version, known)) {
    if (step.type === "delete") {
      const sel = step.selector;
      const target = index.get(sel.id);
      if (!target) {
        if (older(version, "1.14")) {
          // Talos before 1.14 keeps the selector as a document of its own (printing it
          // fails or gives a config it cannot load, unless a later delete takes it out)
          out = [...out, ghostOf(sel)];
        }
        continue;
      }
      if (sel.path.length === 0) {
        out = out.filter((d) => d !== target);
        index.delete(sel.id);
        continue;
      }
      if (target.ghost) throw ghostError(target, "delete a path in");
      const struct = structOf(target.ref, version, known);
      if (struct) applySelector(target.doc.contents as YAMLMap, sel, version, struct);
      continue;
    }
    const { ref, doc } = step;
    const target = index.get(ref.id);
    if (!target) {
      const added = newDocument(doc, ref);
      out = [...out, added];
      // Talos 1.14 merges a later document of the same id into this one; older releases
      // append it again (and their loader refuses a patch that repeats a document)
      if (!older(version, "1.14")) index.set(ref.id, added);
      continue;
    }
    if (target.ghost) throw ghostError(target, "merge into");
    const struct = structOf(target.ref, version, known);
    const model = struct ? { version, struct } : undefined;
    mergeDocument(target.doc.contents as YAMLMap, doc.contents as YAMLMap, ref.id, ref.kind, model);
    target.ref = refOf(target.doc.contents as YAMLMap);
  }
  // Talos keeps the v1alpha1 document first
  const legacy = out.findIndex((d) => d.ref.kind === LEGACY_KIND);
  if (legacy > 0) out = [out[legacy] as ConfigDocument, ...out.filter((_, i) => i !== legacy)];
  checkContainer(out, version);
  return out;
}

function ghostOf(sel: DeleteSelector): ConfigDocument {
  return {
    ref: {
      apiVersion: sel.apiVersion,
      kind: sel.kind,
      id: sel.id,
      ...(sel.name === undefined ? {} : { name: sel.name }),
    },
    doc: new Document({}) as unknown as Document.Parsed,
    ghost: true,
  };
}

function ghostError(ghost: ConfigDocument, what: string): ConfigPatchError {
  return new ConfigPatchError(
    "CONFIG_DELETE_MISSING",
    `cannot ${what} document '${ghost.ref.id}': an earlier patch deleted it while the config did not have it, which Talos before 1.14 keeps as a document of its own`,
    { document: ghost.ref.id },
  );
}

/** Document kinds that may not share a name, per Talos minor (they configure one link or volume). */
function conflictGroups(version: ModelVersion): string[][] {
  const links = ["BondConfig", "BridgeConfig", "DummyLinkConfig", "LinkConfig", "VLANConfig"];
  links.push("WireguardConfig");
  if (!older(version, "1.13")) links.push("VRFConfig");
  if (!older(version, "1.14")) links.push("VethConfig");
  const groups: string[][] = [];
  if (!older(version, "1.11")) groups.push(["UserVolumeConfig", "ExistingVolumeConfig"]);
  if (!older(version, "1.12")) groups.push(links, ["HCloudVIPConfig", "Layer2VIPConfig"]);
  return groups;
}

/** The checks Talos makes when it builds a config of documents: no two documents claim one name. */
function checkContainer(docs: readonly ConfigDocument[], version: ModelVersion): void {
  const groups = conflictGroups(version);
  const owner = new Map<string, string>();
  const links = new Map<string, string>();
  const fail = (message: string, document: string) => {
    throw new ConfigPatchError("CONFIG_INVALID", message, { document });
  };
  for (const d of docs) {
    if (d.ghost) continue;
    const name = d.ref.name ?? "";
    for (const g of groups) {
      if (!g.includes(d.ref.kind)) continue;
      const key = `${g.join(",")}/${name}`;
      const other = owner.get(key);
      if (other) fail(`conflicting documents: ${other} and ${d.ref.kind}/${name}`, d.ref.id);
      owner.set(key, `${d.ref.kind}/${name}`);
    }
    // Talos 1.14 also refuses two documents configuring one link (a veth names its peer)
    if (!older(version, "1.14") && groups[1]?.includes(d.ref.kind)) {
      const claimed = [name];
      if (d.ref.kind === "VethConfig") {
        const peer = (d.doc.contents as YAMLMap).getIn(["peer", "name"]);
        claimed.push(peer === undefined || peer === null ? "" : String(peer));
      }
      for (const link of claimed) {
        const other = links.get(link);
        if (other)
          fail(
            `conflicting link configurations: ${other} and ${d.ref.kind}/${name} both configure "${link}"`,
            d.ref.id,
          );
        links.set(link, `${d.ref.kind}/${name}`);
      }
    }
  }
}

function applyJson(
  docs: ConfigDocument[],
  patch: Extract<ConfigPatch, { type: "json6902" }>,
): void {
  const only = docs[0];
  // Talos takes a JSON6902 patch on a config of exactly one document, of any kind
  if (docs.length !== 1 || !only) {
    throw new ConfigPatchError("CONFIG_JSONPATCH_MULTIDOC", JSONPATCH_MULTIDOC_MESSAGE);
  }
  applyJsonPatch(only.doc, patch.operations, only.ref.id);
  if (!isMap(only.doc.contents)) {
    throw new ConfigPatchError(
      "CONFIG_JSONPATCH_FAILED",
      `JSON6902 patch ${patch.source} left document '${only.ref.id}' without a mapping`,
      { document: only.ref.id },
    );
  }
}

/** Applies patches in order to parsed documents (changed in place where possible). */
export function applyPatches(
  docs: ConfigDocument[],
  patches: readonly ConfigPatch[],
  options: {
    talosVersion?: string;
    /** Refuse an empty config as Talos's loader does (patchConfig on a text sets it). */
    requireDocuments?: boolean;
  } = {},
): ConfigDocument[] {
  for (const d of docs) checkKind(d.ref, options.talosVersion);
  const known = options.talosVersion !== undefined;
  // without a version, Talos's newest rules
  const version: ModelVersion = known
    ? configVersion(options.talosVersion as string)
    : (CONFIG_VERSIONS[CONFIG_VERSIONS.length - 1] as ModelVersion);
  let out = docs;
  let loaded = false;
  for (const patch of patches) {
    if (patch.type === "json6902") {
      applyJson(out, patch);
      loaded = false;
      continue;
    }
    // a strategic patch loads the config first, which must hold one document at least
    if (!loaded) {
      if (out.length === 0 && options.requireDocuments)
        throw new ConfigPatchError(
          "CONFIG_NO_DOCUMENTS",
          "config not found: the config to patch has no documents",
        );
      checkContainer(out, version);
      loaded = true;
    }
    out = applyStrategic(out, patch, version, known);
  }
  return out;
}

function toMap(docs: readonly ConfigDocument[]): Map<string, unknown> {
  return new Map(docs.map((d) => [d.ref.id, d.doc.toJS({ maxAliasCount: -1 })]));
}

/**
 * Merges patches (text or loaded) into a base config with Talos's semantics. Pure:
 * nothing is read or written; bad input throws {@link ConfigPatchError}.
 */
export function patchConfig(
  base: string,
  patches: readonly (string | ConfigPatch)[],
  options: PatchConfigOptions = {},
): PatchConfigResult {
  const loaded = patches.map((p, i) =>
    typeof p === "string" ? loadPatch(p, `patch ${i + 1}`) : p,
  );
  const docs = parseConfig(base, "base config");
  const before = options.diff === false ? undefined : toMap(docs);
  const beforeText = before ? printConfig(docs) : "";
  const version = options.talosVersion === undefined ? {} : { talosVersion: options.talosVersion };
  const merged = applyPatches(docs, loaded, { ...version, requireDocuments: true });
  const ghost = merged.find((d) => d.ghost);
  if (ghost)
    throw new ConfigPatchError(
      "CONFIG_DELETE_MISSING",
      `cannot delete document '${ghost.ref.id}': the config does not have it, and Talos before 1.14 leaves an empty document in its place that it cannot load`,
      { document: ghost.ref.id },
    );
  const text = printConfig(merged);
  const result: PatchConfigResult = { text, documents: merged.map((d) => d.ref) };
  if (before) result.diff = diffDocuments(before, toMap(merged), beforeText, text);
  return result;
}

export { PATCH_KEY };
