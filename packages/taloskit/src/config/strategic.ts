// Strategic merge of one patch document into one base document, on yaml nodes so
// that the base keeps its comments, key order and scalar styles.
import { isMap, isScalar, isSeq, type Node, Pair, Scalar, type YAMLMap, type YAMLSeq } from "yaml";
import { resolveScalar } from "./decoder.js";
import { ConfigPatchError } from "./errors.js";
import {
  CEL_FIELDS,
  goFields,
  type MergeRule,
  type ModelVersion,
  ruleFor,
  underlying,
} from "./merge-rules.js";

export const PATCH_KEY = "$patch";

/** Where the merge is: the document, the rule path (`[]` for list items) and a readable path. */
interface Cursor {
  document: string;
  kind: string;
  rulePath: string[];
  shown: string;
  /** Talos minor whose Go types drive the merge, when known. */
  version?: ModelVersion;
  /** Model type code of the value here, when known; `pointer` when Go holds it by pointer. */
  type?: string;
  pointer?: boolean;
  /** The field is replaced whole by a patch (Go tag merge:"replace"). */
  replace?: boolean;
}

/** The type of field `key` in a value of type `type` (struct fields, inline ones too, or map values). */
function fieldType(
  version: ModelVersion,
  type: string,
  key: string,
): { type: string; pointer: boolean; replace?: boolean } | undefined {
  const t = underlying(type);
  if (t.startsWith("{")) return { type: t.slice(1), pointer: false };
  if (t === "a") return { type: "a", pointer: false };
  if (!t.startsWith("#")) return undefined;
  for (const f of goFields(version, t.slice(1)) ?? []) {
    if (!f.inline && f.name === key)
      return { type: f.type, pointer: f.pointer, replace: f.replace };
    if (f.inline) {
      const inner = fieldType(version, f.type, key);
      if (inner) return inner;
    }
  }
  return undefined;
}

function child(c: Cursor, key: string): Cursor {
  const f = c.version && c.type ? fieldType(c.version, c.type, key) : undefined;
  return {
    ...c,
    rulePath: [...c.rulePath, key],
    shown: c.shown ? `${c.shown}.${key}` : key,
    type: f?.type,
    pointer: f?.pointer,
    replace: f?.replace,
  };
}

function item(c: Cursor, label: string): Cursor {
  const t = c.type ? underlying(c.type) : undefined;
  return {
    ...c,
    rulePath: [...c.rulePath, "[]"],
    shown: `${c.shown}[${label}]`,
    type: t?.startsWith("[") ? t.slice(1) : t === "a" ? "a" : undefined,
    pointer: false,
    replace: false,
  };
}

/** Go's dynamic type of a value held in an `interface{}` (for the merge's type check). */
function dynamicType(node: unknown): string {
  if (isMap(node)) return "map";
  if (isSeq(node)) return "list";
  if (isScalar(node)) return resolveScalar(node).t;
  return "null";
}

/** True when the patch scalar is the zero value of its Go type (which the merge skips). */
function isZero(node: Scalar, c: Cursor): boolean {
  const t = c.type ? underlying(c.type) : undefined;
  const r = resolveScalar(node);
  if (t === undefined || t.startsWith("T:") || t.startsWith("U:")) return isZeroScalar(node);
  if (t === "b") return false;
  if (t === "s") return r.t === "str" && r.v === "";
  if (t === "d")
    return /^[+-]?(0*\.?0*(ns|us|µs|μs|ms|s|m|h)?)+$/.test(text(node)) && r.t !== "null";
  if (t === "a")
    return (
      (r.t === "str" && r.v === "") || ((r.t === "int" || r.t === "float") && Number(r.v) === 0)
    );
  if (/^[iuf]\d*$/.test(t)) return (r.t === "int" || r.t === "float") && Number(r.v) === 0;
  return isZeroScalar(node);
}

function keyOf(pair: Pair): string {
  const k = pair.key;
  return isScalar(k) ? String(k.value) : String(k);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  for (const p of map.items) if (keyOf(p as Pair) === key) return p as Pair;
  return undefined;
}

function plain(node: unknown): unknown {
  if (node && typeof node === "object" && "toJSON" in node) {
    return (node as { toJSON(): unknown }).toJSON();
  }
  return node;
}

/** True for a mapping carrying `$patch: delete`. */
export function isDeleteMarker(node: unknown): node is YAMLMap {
  if (!isMap(node)) return false;
  const p = findPair(node, PATCH_KEY);
  return p !== undefined && isScalar(p.value) && p.value.value === "delete";
}

function selectorOf(map: YAMLMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of map.items) {
    const k = keyOf(p as Pair);
    if (k !== PATCH_KEY) out[k] = plain((p as Pair).value);
  }
  return out;
}

function labelOf(sel: Record<string, unknown>, index: number): string {
  const entries = Object.entries(sel).filter(([, v]) => typeof v !== "object" || v === null);
  const first = entries[0];
  return first ? `${first[0]}=${String(first[1])}` : String(index);
}

function keyedMatch(rule: MergeRule | undefined, base: YAMLSeq, patchItem: unknown): number {
  if (rule?.type !== "keyed" || !isMap(patchItem)) return -1;
  const p = selectorOf(patchItem);
  return base.items.findIndex((b) => {
    const bv = plain(b);
    return typeof bv === "object" && bv !== null && rule.match(bv as Record<string, unknown>, p);
  });
}

// ------------------------------------------------------------ delete selectors

/**
 * One `$patch: delete` of a patch document, read as Talos's patch loader reads it: the
 * document it targets, the path of keys from the document root (a list item is `[i]`,
 * always last), and for a list item the first other key of the item and its text.
 */
export interface DeleteSelector {
  apiVersion: string;
  kind: string;
  name?: string;
  /** Id of the targeted document (as {@link refOf} names documents). */
  id: string;
  path: string[];
  key?: string;
  value?: string;
}

/** A patch document split into its delete selectors and what is left to merge. */
export interface SplitDocument {
  selectors: DeleteSelector[];
  /** The document without its deletes; undefined when nothing is left to merge. */
  body: YAMLMap | undefined;
}

function text(node: unknown): string {
  if (!isScalar(node)) return "";
  const src = (node as Scalar & { source?: string }).source;
  if (typeof src === "string") return src;
  return node.value === null || node.value === undefined ? "" : String(node.value);
}

function isDeletePair(pair: Pair): boolean {
  return keyOf(pair) === PATCH_KEY && isScalar(pair.value) && text(pair.value) === "delete";
}

function badPatch(what: string, message: string): ConfigPatchError {
  return new ConfigPatchError("CONFIG_BAD_PATCH", `${what}: ${message}`);
}

/**
 * Takes every `$patch: delete` out of a patch document (changed in place: pass a copy).
 * A mapping holding `$patch: delete` is removed whole, and so is a mapping or list that
 * its removals leave empty; a document left with nothing but `version`, `kind` and
 * `name` has no body. Deleting a key inside a list item, a delete selector without
 * a way to find its document, or a list-item selector without a key is refused.
 */
export function splitPatchDocument(root: YAMLMap, what: string): SplitDocument {
  const selectors: DeleteSelector[] = [];
  const field = (key: string, required: boolean): string => {
    const p = findPair(root, key);
    if (p) return text(p.value);
    if (required)
      throw badPatch(what, `missing ${key} in document for which $patch: delete is used`);
    return "";
  };
  const selector = (path: string[], item?: YAMLMap): DeleteSelector => {
    let key: string | undefined;
    let value: string | undefined;
    if (item) {
      const first = (item.items as Pair[]).find((p) => !isDeletePair(p));
      if (!first)
        throw badPatch(what, `no key:val found in sequence node for path ${path.join(".")}`);
      key = keyOf(first);
      value = text(first.value);
    }
    const required = path.length === 0;
    const apiVersion = field("apiVersion", required);
    let kind = field("kind", required);
    if (kind === "" && apiVersion === "") kind = "v1alpha1";
    else if (kind === "" || apiVersion === "")
      throw badPatch(what, `kind and apiVersion must be both set for path ${path.join(".")}`);
    const name = field("name", false);
    const id = kind === "v1alpha1" && apiVersion === "" ? "/v1alpha1" : `${apiVersion}/${kind}`;
    const sel: DeleteSelector = { apiVersion, kind, id: name ? `${id}/${name}` : id, path };
    if (name) sel.name = name;
    if (key !== undefined) {
      sel.key = key;
      sel.value = value ?? "";
    }
    return sel;
  };
  // returns true when `node` is to be removed from its parent
  const visit = (node: unknown, parent: "doc" | "map" | "seq", path: string[]): boolean => {
    if (isMap(node)) {
      for (let i = 0; i < node.items.length; i++) {
        const pair = node.items[i] as Pair;
        if (isDeletePair(pair)) {
          // Talos's loader fails on an empty key in the path of a deleted key
          if (parent !== "seq" && path.includes(""))
            throw badPatch(what, `cannot delete below an empty key in '${path.join(".")}'`);
          if (parent !== "seq" && path.some((p) => p.startsWith("[")))
            throw badPatch(what, `cannot delete an inner key in '${path.join(".")}'`);
          selectors.push(selector(path, parent === "seq" ? node : undefined));
          return true;
        }
        if (visit(pair.value, "map", [...path, keyOf(pair)])) {
          node.items.splice(i, 1);
          i--;
          if (node.items.length === 0) return true;
        }
      }
      return false;
    }
    if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) {
        if (visit(node.items[i], "seq", [...path, `[${i}]`])) {
          node.items.splice(i, 1);
          i--;
          if (node.items.length === 0) return true;
        }
      }
    }
    return false;
  };
  if (visit(root, "doc", [])) return { selectors, body: undefined };
  const onlyHeader = (root.items as Pair[]).every(
    (p) => isScalar(p.key) && isScalar(p.value) && ["version", "kind", "name"].includes(keyOf(p)),
  );
  return { selectors, body: onlyHeader ? undefined : root };
}

type Walk = "ok" | "lookup" | { error: string };
const LOOKUP: Walk = "lookup";

function absent(node: unknown): boolean {
  return node === undefined || isNullNode(node);
}

function childOf(node: unknown, key: string): unknown {
  return isMap(node) ? findPair(node, key)?.value : undefined;
}

/** Deletes `path` from a value of Go type `type` held in `node` (a yaml node or absent). */
function walk(
  version: ModelVersion,
  node: unknown,
  type: string,
  pointer: boolean,
  path: readonly string[],
  sel: DeleteSelector,
): Walk {
  const t = underlying(type);
  if ((pointer || t === "a") && absent(node)) return LOOKUP;
  const [seg = "", ...rest] = path;
  if (t.startsWith("#")) {
    for (const f of goFields(version, t.slice(1)) ?? []) {
      if (!f.inline && f.name === seg) {
        if (rest.length === 0) {
          if (isMap(node)) node.delete(seg);
          return "ok";
        }
        return walk(version, childOf(node, seg), f.type, f.pointer, rest, sel);
      }
      // Talos 1.12 and newer look into embedded structs and maps
      if (f.inline && version !== "1.10" && version !== "1.11") {
        const r = walk(version, node, f.type, f.pointer, path, sel);
        if (r !== LOOKUP) return r;
      }
    }
    return LOOKUP;
  }
  if (t.startsWith("{") || (t === "a" && isMap(node))) {
    const pair = isMap(node) ? findPair(node, seg) : undefined;
    if (!pair || !isMap(node)) return LOOKUP;
    if (rest.length === 0) {
      node.items.splice(node.items.indexOf(pair), 1);
      return "ok";
    }
    return walk(version, pair.value, t === "a" ? "a" : t.slice(1), false, rest, sel);
  }
  if (t.startsWith("[") || (t === "a" && isSeq(node))) {
    if (rest.length !== 0)
      return { error: "searching for complex paths in slices is not supported" };
    if (!seg.startsWith("["))
      return { error: "searching for non-integer keys in slices is not supported" };
    const elem = t === "a" ? "a" : underlying(t.slice(1));
    if (!isSeq(node) || !elem.startsWith("#")) return LOOKUP;
    const f = (goFields(version, elem.slice(1)) ?? []).find((x) => !x.inline && x.name === sel.key);
    if (!f || f.pointer || !comparable(version, f.type)) return LOOKUP;
    const at = node.items.findIndex(
      (it) => isMap(it) && text(findPair(it, sel.key as string)?.value) === sel.value,
    );
    if (at < 0) return LOOKUP;
    node.items.splice(at, 1);
    return "ok";
  }
  return LOOKUP;
}

/**
 * Whether Talos can match a list item's field of this type against a YAML text: it
 * compares the field's string form, which is the text for strings and (from 1.12) for
 * types that print themselves (addresses, prefixes, named enums), but never for plain
 * numbers or booleans.
 */
function comparable(version: ModelVersion, type: string): boolean {
  if (underlying(type) === "s") return true;
  const named = type.startsWith("T:") || type.startsWith("U:");
  return named && version !== "1.10" && version !== "1.11";
}

/**
 * Applies a delete selector with a non-empty path to a document of Go struct `struct`,
 * as Talos does: a field of a struct is cleared whether or not it is set, but every
 * pointer, map, list or map key on the way must be there.
 */
export function applySelector(
  root: YAMLMap,
  sel: DeleteSelector,
  version: ModelVersion,
  struct: string,
): void {
  const had = sel.path.length === 1 && root.has(sel.path[0]);
  const r = walk(version, root, `#${struct}`, false, sel.path, sel);
  // v1alpha1's machine and cluster are always printed: a cleared one prints as null
  if (
    r === "ok" &&
    had &&
    struct.endsWith("v1alpha1.Config") &&
    ["machine", "cluster"].includes(sel.path[0] as string)
  )
    root.set(sel.path[0], null);
  if (r === "ok") return;
  const path = sel.path.join(".");
  const why = typeof r === "string" ? "lookup failed" : r.error;
  throw new ConfigPatchError(
    "CONFIG_DELETE_MISSING",
    `failed to delete path '${path}' in document '${sel.id}': ${why}`,
    { document: sel.id, path },
  );
}

function isNullNode(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function isZeroScalar(node: Scalar): boolean {
  return node.value === "" || node.value === 0;
}

function copy(node: Node): Node {
  return node.clone() as Node;
}

/**
 * Merges `patch` into `base` with Talos's rules and returns the node that now holds
 * the field (usually `base` itself, changed in place).
 */
export function mergeNode(base: unknown, patch: Node, c: Cursor): unknown {
  if (isNullNode(patch)) return base;
  const rule = ruleFor(c.kind, c.rulePath);
  if (c.replace) return keepComments(base, copy(patch));
  if (isMap(base) && isMap(patch)) {
    for (const pair of patch.items as Pair[]) {
      const key = keyOf(pair);
      if (key === PATCH_KEY || isNullNode(pair.value)) continue;
      const existing = findPair(base, key);
      const value = pair.value as Node;
      if (!existing) {
        base.items.push(new Pair(copy(pair.key as Node), copy(value)));
      } else if (rule?.type === "args") {
        existing.value = keepComments(existing.value, copy(value));
      } else if (
        child(c, key).type === "a" &&
        !isNullNode(existing.value) &&
        dynamicType(existing.value) !== dynamicType(value)
      ) {
        throw new ConfigPatchError(
          "CONFIG_BAD_PATCH",
          `cannot merge '${child(c, key).shown}' in document '${c.document}': the patch gives a ${dynamicType(value)} where the config has a ${dynamicType(existing.value)}`,
          { document: c.document, path: child(c, key).shown },
        );
      } else {
        existing.value = mergeNode(existing.value, value, child(c, key));
      }
    }
    return base;
  }
  if (isSeq(base) && isSeq(patch)) {
    patch.items.forEach((entry, index) => {
      const m = keyedMatch(rule, base, entry);
      if (m >= 0) {
        const label = labelOf(selectorOf(entry as YAMLMap), index);
        base.items[m] = mergeNode(base.items[m], entry as Node, item(c, label));
      } else {
        base.items.push(copy(entry as Node));
      }
    });
    return base;
  }
  if (isScalar(patch)) {
    if (isScalar(base)) {
      // Talos 1.12 and newer let a zero value through a pointer replace the base
      const overwrite = c.pointer === true && c.version !== "1.10" && c.version !== "1.11";
      if (!overwrite && isZero(patch, c) && base.value !== null) return base;
      const keepStyle =
        typeof base.value === "string" &&
        typeof patch.value === "string" &&
        patch.type === Scalar.PLAIN &&
        (base.type === Scalar.QUOTE_DOUBLE || base.type === Scalar.QUOTE_SINGLE);
      base.value = patch.value;
      if (!keepStyle) base.type = patch.type;
      base.format = patch.format;
      base.tag = patch.tag;
      return base;
    }
    if (isZero(patch, c) && !isNullNode(base)) return base;
  }
  return keepComments(base, copy(patch));
}

function keepComments(old: unknown, next: Node): Node {
  if (old && typeof old === "object" && "commentBefore" in old) {
    const o = old as Scalar;
    if (o.commentBefore && !next.commentBefore) next.commentBefore = o.commentBefore;
    if (o.comment && !next.comment) next.comment = o.comment;
  }
  return next;
}

/**
 * Merge entry point for one document, in place on `base`. The patch holds no
 * `$patch: delete` any more: {@link splitPatchDocument} takes them out first.
 */
export function mergeDocument(
  base: YAMLMap,
  patch: YAMLMap,
  document: string,
  kind: string,
  model?: { version: ModelVersion; struct: string },
): void {
  const cursor: Cursor = { document, kind, rulePath: [], shown: "" };
  if (model) {
    cursor.version = model.version;
    cursor.type = `#${model.struct}`;
  }
  mergeNode(base, patch, cursor);
  for (const path of CEL_FIELDS[kind] ?? []) dropUnlessSet(base, patch, path);
}

/** Removes the value at `path` from `base` unless `patch` sets one there (see CEL_FIELDS). */
function dropUnlessSet(base: YAMLMap, patch: YAMLMap, path: readonly string[]): void {
  let p: unknown = patch;
  for (const key of path) p = isMap(p) ? findPair(p, key)?.value : undefined;
  if (!isNullNode(p)) return;
  const chain: YAMLMap[] = [base];
  for (const key of path.slice(0, -1)) {
    const next = findPair(chain[chain.length - 1] as YAMLMap, key)?.value;
    if (!isMap(next)) return;
    chain.push(next);
  }
  const last = path[path.length - 1] as string;
  (chain[chain.length - 1] as YAMLMap).delete(last);
}

/** Removes every `$patch` marker left in a node (for documents appended as new). */
export function stripMarkers(node: unknown): void {
  if (isMap(node)) {
    node.items = node.items.filter(
      (p) => keyOf(p as Pair) !== PATCH_KEY && !isDeleteMarker((p as Pair).value),
    );
    for (const p of node.items) stripMarkers((p as Pair).value);
  } else if (isSeq(node)) {
    node.items = node.items.filter((i) => !isDeleteMarker(i));
    for (const i of node.items) stripMarkers(i);
  }
}

export type { Cursor as MergeCursor };
