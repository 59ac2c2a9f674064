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
import { isDeleteMarker, mergeDocument, PATCH_KEY, stripMarkers } from "./strategic.js";
import { checkKind } from "./versions.js";

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
    return { type: "json6902", operations: parseJsonPatch(first.toJS(), source), source };
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

function applyStrategic(
  docs: ConfigDocument[],
  patch: Extract<ConfigPatch, { type: "strategic" }>,
  version?: string,
): ConfigDocument[] {
  let out = docs;
  for (const pdoc of patch.documents) {
    const pmap = pdoc.contents as YAMLMap;
    const ref = refOf(pmap);
    checkKind(ref, version);
    const at = out.findIndex((d) => d.ref.id === ref.id);
    if (isDeleteMarker(pmap)) {
      if (at >= 0) out = out.filter((_, i) => i !== at);
      continue;
    }
    if (at < 0) {
      out = [...out, newDocument(pdoc, ref)];
      continue;
    }
    const target = out[at] as ConfigDocument;
    const copy = pdoc.clone().contents as YAMLMap;
    mergeDocument(target.doc.contents as YAMLMap, copy, ref.id, ref.kind);
    target.ref = refOf(target.doc.contents as YAMLMap);
  }
  return out;
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
  options: { talosVersion?: string } = {},
): ConfigDocument[] {
  for (const d of docs) checkKind(d.ref, options.talosVersion);
  let out = docs;
  for (const patch of patches) {
    if (patch.type === "json6902") applyJson(out, patch);
    else out = applyStrategic(out, patch, options.talosVersion);
  }
  return out;
}

function toMap(docs: readonly ConfigDocument[]): Map<string, unknown> {
  return new Map(docs.map((d) => [d.ref.id, d.doc.toJS()]));
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
  const merged = applyPatches(docs, loaded, version);
  const text = printConfig(merged);
  const result: PatchConfigResult = { text, documents: merged.map((d) => d.ref) };
  if (before) result.diff = diffDocuments(before, toMap(merged), beforeText, text);
  return result;
}

export { PATCH_KEY };
