// Rewriting a JSON6902 patch into a strategic-merge patch with the same effect on
// the v1alpha1 document of a given config. Talos refuses JSON6902 patches on every
// multi-document config (all generated configs since 1.12); the rewritten patch
// applies to those too.
import { stringify } from "yaml";
import { LEGACY_KIND, parseConfig } from "./documents.js";
import { ConfigPatchError } from "./errors.js";
import { MODEL_VERSIONS } from "./generated/model.js";
import { applyJsonPatch, type JsonPatchOperation } from "./jsonpatch.js";
import { deepEqual, replacedWhole, ruleFor } from "./merge-rules.js";
import { type ConfigPatch, loadPatch, strategicPatch } from "./patch.js";

const NEWEST_MODEL = MODEL_VERSIONS[MODEL_VERSIONS.length - 1] ?? "1.14";

type Plain = Record<string, unknown>;

const DELETE = { $patch: "delete" } as const;

/** The result of {@link rewriteJson6902}. */
export interface RewrittenPatch {
  /**
   * The strategic patch as YAML: a document of deletions (`$patch: delete`) first
   * when one is needed, then a document of values to merge. Empty when the JSON6902
   * patch changes nothing.
   */
  text: string;
  /** The same documents as plain objects, in order (deletions first). */
  documents: Plain[];
  /** The patch, loaded and ready for {@link patchConfig}. */
  patch: ConfigPatch;
}

function isObject(v: unknown): v is Plain {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isZero(v: unknown): boolean {
  return v === "" || v === 0 || v === null || v === undefined;
}

function unrewritable(message: string, path?: string): ConfigPatchError {
  return new ConfigPatchError("CONFIG_JSONPATCH_UNREWRITABLE", message, {
    document: `/${LEGACY_KIND}`,
    ...(path === undefined ? {} : { path }),
  });
}

/**
 * Works out, key by key, what turns `before` into `after` under Talos's merge:
 * `del` collects fields to clear first, `set` the values merged afterwards.
 */
function diffMaps(before: Plain, after: Plain, path: string[], del: Plain, set: Plain): void {
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key) || after[key] === null) {
      if (before[key] !== null) del[key] = { ...DELETE };
    }
  }
  for (const [key, a] of Object.entries(after)) {
    if (a === null) continue;
    const here = [...path, key];
    if (!Object.hasOwn(before, key) || before[key] === null) {
      set[key] = a;
      continue;
    }
    const b = before[key];
    if (deepEqual(b, a)) continue;
    const rule = ruleFor(LEGACY_KIND, here);
    const replaceWhole = () => {
      del[key] = { ...DELETE };
      // a zero value merged after the delete keeps a map key and is a no-op on a field
      set[key] = a;
    };
    // The v1alpha1 fields Talos replaces whole are the same in every release the model has.
    if (replacedWhole(NEWEST_MODEL, "v1alpha1.Config", here)) {
      // the patch value replaces the base whole, unless it is empty
      if (isEmpty(a)) replaceWhole();
      else set[key] = a;
    } else if (rule?.type === "args" && isObject(b) && isObject(a)) {
      // each argument (a string or a list) is replaced whole
      const d: Plain = {};
      const s: Plain = {};
      for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) d[k] = { ...DELETE };
      for (const [k, v] of Object.entries(a)) {
        if (deepEqual(b[k], v)) continue;
        if (isEmpty(v) && Object.hasOwn(b, k)) d[k] = { ...DELETE };
        if (!isEmpty(v) || Object.hasOwn(b, k)) s[k] = v;
      }
      if (Object.keys(d).length) del[key] = d;
      if (Object.keys(s).length) set[key] = s;
    } else if (path.length > 0) {
      // below the top level: a new plain value is set; anything else clears the
      // field and merges its whole new value back (see below)
      if (isScalar(a) && isScalar(b) && !isZero(a)) set[key] = a;
      else replaceWhole();
    } else if (isObject(b) && isObject(a)) {
      const d: Plain = {};
      const s: Plain = {};
      diffMaps(b, a, here, d, s);
      if (Object.keys(d).length) del[key] = d;
      if (Object.keys(s).length) set[key] = s;
    } else if (Array.isArray(b) && Array.isArray(a)) {
      const appended =
        rule === undefined && a.length > b.length && b.every((v, i) => deepEqual(v, a[i]));
      if (appended) set[key] = a.slice(b.length);
      else replaceWhole();
    } else if (isObject(a) || Array.isArray(a) || isObject(b) || Array.isArray(b)) {
      replaceWhole();
    } else if (isZero(a)) {
      // a zero value never replaces in a merge: clear the field, then set it (map keys keep it)
      del[key] = { ...DELETE };
      set[key] = a;
    } else {
      set[key] = a;
    }
  }
}

/**
 * Why the diff stops at the second level (`machine.x`, `cluster.y`): Talos finds a
 * deleted path field by field through its Go types, and merges types that encode
 * themselves (certificates, endpoints, sizes) in ways a YAML view cannot predict.
 * Clearing a second-level field and merging its whole new value back gives the
 * same document whatever the field's type.
 */
function isScalar(v: unknown): boolean {
  return v === null || typeof v !== "object";
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return isZero(v);
}

/**
 * Rewrites a JSON6902 patch (RFC 6902 operations with paths into the v1alpha1
 * document) into the strategic-merge patch that has the same effect on the v1alpha1
 * document of `base`. Removed fields become `$patch: delete`; changed lists become
 * the appended items, or the whole resulting list after a delete where Talos would
 * otherwise append; other documents of `base` are left alone. The result applies to
 * multi-document configs, which Talos refuses JSON6902 patches on.
 *
 * @param base the config the patch is meant for (YAML, one or more documents)
 * @param patch a JSON6902 patch: text (JSON or YAML), a loaded patch, or operations
 * @throws {ConfigPatchError} `CONFIG_JSONPATCH_FAILED` when an operation does not
 *   apply to the v1alpha1 document, `CONFIG_JSONPATCH_UNREWRITABLE` when the effect
 *   cannot be written as a strategic patch (no v1alpha1 document, a result that is
 *   not a mapping, or a change of the document's identity), `CONFIG_BAD_PATCH` when
 *   the patch is not a JSON6902 patch
 */
export function rewriteJson6902(
  base: string,
  patch: string | ConfigPatch | readonly JsonPatchOperation[],
): RewrittenPatch {
  const loaded = typeof patch === "string" ? loadPatch(patch, "JSON6902 patch") : patch;
  let operations: readonly JsonPatchOperation[];
  if (Array.isArray(loaded)) operations = loaded as readonly JsonPatchOperation[];
  else if ((loaded as ConfigPatch).type === "json6902") {
    operations = (loaded as Extract<ConfigPatch, { type: "json6902" }>).operations;
  } else {
    throw new ConfigPatchError("CONFIG_BAD_PATCH", "only a JSON6902 patch can be rewritten");
  }
  const legacy = parseConfig(base, "base config").find((d) => d.ref.kind === LEGACY_KIND);
  if (!legacy) {
    throw unrewritable("the base config has no v1alpha1 document for the JSON6902 paths");
  }
  const before = legacy.doc.toJS({ maxAliasCount: -1 }) as unknown;
  const work = legacy.doc.clone();
  applyJsonPatch(work, operations, legacy.ref.id);
  const after = work.toJS({ maxAliasCount: -1 }) as unknown;
  if (!isObject(before) || !isObject(after)) {
    throw unrewritable("the patched v1alpha1 document is not a mapping");
  }
  for (const key of ["kind", "apiVersion"]) {
    if (after[key] !== undefined && after[key] !== null) {
      throw unrewritable(`the patch adds '${key}', which would make it another document`, key);
    }
  }
  if (!deepEqual(before.version, after.version)) {
    throw unrewritable("the patch changes the document's version", "version");
  }
  const del: Plain = {};
  const set: Plain = {};
  diffMaps(before, after, [], del, set);
  delete set.version;
  delete del.version;
  const documents = [del, set].filter((d) => Object.keys(d).length > 0);
  const text = documents.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
  return {
    text,
    documents,
    patch: strategicPatch(documents, "rewritten JSON6902 patch"),
  };
}
