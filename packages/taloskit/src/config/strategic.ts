// Strategic merge of one patch document into one base document, on yaml nodes so
// that the base keeps its comments, key order and scalar styles.
import { isMap, isScalar, isSeq, type Node, Pair, Scalar, type YAMLMap, type YAMLSeq } from "yaml";
import { ConfigPatchError } from "./errors.js";
import { CEL_FIELDS, deepEqual, type MergeRule, ruleFor } from "./merge-rules.js";

export const PATCH_KEY = "$patch";

/** Where the merge is: the document, the rule path (`[]` for list items) and a readable path. */
interface Cursor {
  document: string;
  kind: string;
  rulePath: string[];
  shown: string;
}

function child(c: Cursor, key: string): Cursor {
  return {
    ...c,
    rulePath: [...c.rulePath, key],
    shown: c.shown ? `${c.shown}.${key}` : key,
  };
}

function item(c: Cursor, label: string): Cursor {
  return { ...c, rulePath: [...c.rulePath, "[]"], shown: `${c.shown}[${label}]` };
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

function matchesSelector(base: unknown, sel: Record<string, unknown>): boolean {
  if (typeof base !== "object" || base === null || Array.isArray(base)) return false;
  const b = base as Record<string, unknown>;
  return Object.entries(sel).every(([k, v]) => deepEqual(b[k], v));
}

function missing(c: Cursor): ConfigPatchError {
  return new ConfigPatchError(
    "CONFIG_DELETE_MISSING",
    `failed to delete path '${c.shown}' in document '${c.document}': lookup failed`,
    { document: c.document, path: c.shown },
  );
}

function keyedMatch(rule: MergeRule | undefined, base: YAMLSeq, patchItem: unknown): number {
  if (rule?.type !== "keyed" || !isMap(patchItem)) return -1;
  const p = selectorOf(patchItem);
  return base.items.findIndex((b) => {
    const bv = plain(b);
    return typeof bv === "object" && bv !== null && rule.match(bv as Record<string, unknown>, p);
  });
}

/**
 * Applies every `$patch: delete` in `patch` to `base` and removes the markers from
 * `patch` (which must be a private copy). Deleting what is not there is an error.
 */
export function applyDeletes(base: unknown, patch: Node, c: Cursor): void {
  if (isMap(patch)) {
    for (const pair of [...patch.items] as Pair[]) {
      const key = keyOf(pair);
      if (key === PATCH_KEY) continue;
      const at = child(c, key);
      const baseChild = isMap(base) ? findPair(base, key)?.value : undefined;
      if (isDeleteMarker(pair.value)) {
        // a top-level field of a document is a field of its Go struct: Talos clears
        // it whether or not the base sets it; deeper down a missing value is an error
        const topLevel = c.rulePath.length === 0 && isMap(base);
        if (!topLevel && (!isMap(base) || !findPair(base, key))) throw missing(at);
        base.delete(key);
        patch.items.splice(patch.items.indexOf(pair), 1);
      } else if (isMap(pair.value) || isSeq(pair.value)) {
        applyDeletes(baseChild, pair.value, at);
      }
    }
    return;
  }
  if (isSeq(patch)) {
    const rule = ruleFor(c.kind, [...c.rulePath]);
    for (const entry of [...patch.items]) {
      const index = patch.items.indexOf(entry);
      if (isDeleteMarker(entry)) {
        const sel = selectorOf(entry);
        const at = item(c, labelOf(sel, index));
        if (!isSeq(base)) throw missing(at);
        const before = base.items.length;
        base.items = base.items.filter((b) => !matchesSelector(plain(b), sel));
        if (base.items.length === before) throw missing(at);
        patch.items.splice(index, 1);
      } else if ((isMap(entry) || isSeq(entry)) && hasMarker(entry)) {
        const m = isSeq(base) ? keyedMatch(rule, base, entry) : -1;
        const label = isMap(entry) ? labelOf(selectorOf(entry), index) : String(index);
        applyDeletes(m >= 0 && isSeq(base) ? base.items[m] : undefined, entry, item(c, label));
      }
    }
  }
}

function hasMarker(node: unknown): boolean {
  if (isMap(node)) {
    return node.items.some((p) => keyOf(p as Pair) === PATCH_KEY || hasMarker((p as Pair).value));
  }
  if (isSeq(node)) return node.items.some(hasMarker);
  return false;
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
  if (rule?.type === "replace") return keepComments(base, copy(patch));
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
      if (isZeroScalar(patch) && base.value !== null) return base;
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
    if (isZeroScalar(patch) && !isNullNode(base)) return base;
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

/** Merge entry point for one document: deletes first, then the merge, in place on `base`. */
export function mergeDocument(base: YAMLMap, patch: YAMLMap, document: string, kind: string): void {
  const cursor: Cursor = { document, kind, rulePath: [], shown: "" };
  applyDeletes(base, patch, cursor);
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
