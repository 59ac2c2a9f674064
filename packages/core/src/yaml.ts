// The one way taloskit reads YAML. Every public parser of talosconfigs, configs,
// patches, schematics and resource specs goes through here, so bad input gives
// the same typed error everywhere, work stays linear in the input, and no
// message or cause ever quotes the text (a talosconfig holds a private key).
//
// Bounds, in the spirit of Talos's Go YAML reader: anchors and aliases are
// legal, but an alias to an unknown anchor or to a node that contains it is
// refused, and so is aliasing that expands far past the input (a "billion
// laughs"); nesting is bounded; duplicate keys are found with one hash set per
// mapping instead of the yaml library's pairwise scan.
import {
  Composer,
  type Document,
  type DocumentOptions,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  LineCounter,
  type Node,
  type ParseOptions,
  Parser,
  type SchemaOptions,
} from "yaml";
import { TalosError } from "./errors.js";

/** Stable codes of {@link YamlError}. */
export type YamlErrorCode = "YAML_INVALID" | "YAML_TOO_LARGE" | "YAML_TOO_DEEP" | "YAML_ALIAS";

/**
 * The YAML input could not be read. `what` names the input (a file, `patch 2`,
 * a resource); `line` and `column` (1-based) say where, when known. The message
 * never holds any of the input's text, and there is no library error as cause.
 */
export class YamlError extends TalosError {
  override readonly name: string = "YamlError";
  declare readonly code: YamlErrorCode;
  /** What was being read, as given by the caller. */
  readonly what: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** The problem alone, without `what` and the position (for callers that reword). */
  readonly reason: string;

  constructor(
    code: YamlErrorCode,
    what: string,
    reason: string,
    position?: { line: number; column: number },
  ) {
    const where = position ? ` at line ${position.line}, column ${position.column}` : "";
    super(code, `${what}: invalid YAML${where}: ${reason}`);
    this.what = what;
    this.reason = reason;
    this.line = position?.line;
    this.column = position?.column;
  }
}

/** Default size limit: 16 MiB, room for configs with large inline manifests. */
export const YAML_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Default nesting limit. Real configs nest a few dozen levels; the yaml library
 * itself runs out of stack at several hundred, and so would code walking the result.
 */
export const YAML_MAX_DEPTH = 256;
/** Default limit on the nodes aliases may add when expanded. */
export const YAML_MAX_ALIAS_NODES = 100_000;

/** Options of {@link parseYamlDocuments}. */
export interface YamlReadOptions {
  /** Names the input in errors, e.g. a file path or `patch 2`. */
  what: string;
  /** Largest input accepted, in UTF-8 bytes. */
  maxBytes?: number;
  /** Deepest nesting of collections accepted. */
  maxDepth?: number;
  /** Most nodes that aliases may add when expanded, over each document. */
  maxAliases?: number;
  /** Refuse a mapping that repeats a key (default true, as the yaml library does). */
  uniqueKeys?: boolean;
  /** Read only this many documents; later ones are not checked (as a reader of the first document only). */
  maxDocuments?: number;
  /** yaml library options for building the documents (schema, tags, version). */
  yaml?: Omit<ParseOptions & DocumentOptions & SchemaOptions, "uniqueKeys" | "lineCounter">;
}

// What each of the yaml library's error codes means, in our words and without
// the library's message (which may carry a piece of the input).
const REASONS: Record<string, string> = {
  ALIAS_PROPS: "an alias cannot have a tag or an anchor",
  BAD_ALIAS: "malformed alias",
  BAD_DIRECTIVE: "malformed directive",
  BAD_DQ_ESCAPE: "bad escape in a double-quoted string",
  BAD_INDENT: "bad indentation",
  BAD_PROP_ORDER: "anchor and tag in the wrong order",
  BAD_SCALAR_START: "a plain value cannot start with this character",
  BLOCK_AS_IMPLICIT_KEY: "a block collection cannot be an implicit key",
  BLOCK_IN_FLOW: "a block value inside a flow collection",
  DUPLICATE_KEY: "duplicate key in a mapping",
  KEY_OVER_1024_CHARS: "an implicit key is longer than 1024 characters",
  MISSING_CHAR: "a closing character is missing",
  MULTILINE_IMPLICIT_KEY: "an implicit key spans lines",
  MULTIPLE_ANCHORS: "a node has more than one anchor",
  MULTIPLE_DOCS: "more than one document",
  MULTIPLE_TAGS: "a node has more than one tag",
  NON_STRING_KEY: "a key is not a string",
  RESOURCE_EXHAUSTION: "the input is too complex",
  TAB_AS_INDENT: "a tab used as indentation",
  TAG_RESOLVE_FAILED: "a value does not match its tag",
  UNEXPECTED_TOKEN: "unexpected token",
  BAD_COLLECTION_TYPE: "a collection does not match its tag",
};

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

interface CstLike {
  type?: string;
  value?: unknown;
  items?: readonly { key?: unknown; value?: unknown }[];
}

/** Deepest nesting of collections in a CST token, walked without recursion. */
function cstDepth(token: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[token, 0]];
  while (stack.length > 0) {
    const [t, depth] = stack.pop() as [unknown, number];
    if (typeof t !== "object" || t === null) continue;
    const tok = t as CstLike;
    if (tok.type === "document") {
      stack.push([tok.value, depth]);
      continue;
    }
    if (!tok.items) continue;
    const inner = depth + 1;
    if (inner > deepest) deepest = inner;
    if (deepest > limit) return deepest;
    for (const item of tok.items) {
      stack.push([item.key, inner], [item.value, inner]);
    }
  }
  return deepest;
}

/** The children of a composed node: keys and values of pairs, items of sequences. */
function childrenOf(node: Node): Node[] {
  if (!isCollection(node)) return [];
  const out: Node[] = [];
  for (const item of node.items as unknown[]) {
    if (isPair(item)) {
      if (item.key && typeof item.key === "object") out.push(item.key as Node);
      if (item.value && typeof item.value === "object") out.push(item.value as Node);
    } else if (item && typeof item === "object") out.push(item as Node);
  }
  return out;
}

/** The first key of a mapping repeated later, found with one hash set (yaml's rule: equal scalar values). */
function repeatedKey(node: Node): Node | undefined {
  if (!isMap(node)) return undefined;
  const seen = new Set<unknown>();
  for (const item of node.items as unknown[]) {
    if (!isPair(item) || !isScalar(item.key)) continue;
    const v = item.key.value;
    if (typeof v === "number" && Number.isNaN(v)) continue; // NaN never equals itself
    if (seen.has(v)) return item.key;
    seen.add(v);
  }
  return undefined;
}

interface Frame {
  /** The node whose children are being walked; none for the document itself. */
  node: Node | undefined;
  children: Node[];
  next: number;
  size: number;
}

type Fail = (code: YamlErrorCode, reason: string, offset: number | undefined) => never;

/**
 * Checks one composed document in a single pass, without recursion: aliases
 * must name an earlier anchor outside themselves, their expansion stays within
 * the budget, and (when asked) no mapping repeats a key.
 */
function checkDocument(root: Node, uniqueKeys: boolean, maxAliases: number, fail: Fail): void {
  const anchors = new Map<string, Node>();
  const open = new Set<Node>();
  const sizes = new Map<Node, number>();
  let added = 0;
  const enter = (node: Node): Frame => {
    if (node.anchor) anchors.set(node.anchor, node);
    if (uniqueKeys) {
      const dup = repeatedKey(node);
      if (dup) fail("YAML_INVALID", REASONS.DUPLICATE_KEY as string, dup.range?.[0]);
    }
    open.add(node);
    return { node, children: childrenOf(node), next: 0, size: 1 };
  };
  // The document is a frame of its own, so that a document that is only an alias is checked too.
  const stack: Frame[] = [{ node: undefined, children: [root], next: 0, size: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const child = frame.children[frame.next++];
    if (child === undefined) {
      stack.pop();
      if (!frame.node) continue;
      open.delete(frame.node);
      if (frame.node.anchor) sizes.set(frame.node, frame.size);
      const parent = stack[stack.length - 1];
      if (parent) parent.size += frame.size;
      continue;
    }
    if (isAlias(child)) {
      const target = anchors.get(child.source);
      const at = child.range?.[0];
      if (!target) fail("YAML_ALIAS", "an alias names no anchor defined before it", at);
      if (open.has(target)) fail("YAML_ALIAS", "an anchor's value contains an alias to it", at);
      const size = sizes.get(target) ?? 1;
      added += size;
      if (added > maxAliases) fail("YAML_ALIAS", "excessive aliasing", at);
      frame.size += size;
      continue;
    }
    stack.push(enter(child));
  }
}

/**
 * Reads a YAML stream into the yaml library's documents (comments kept), or
 * throws {@link YamlError}. Documents with no content are kept; callers decide
 * what an empty document means.
 */
export function parseYamlDocuments(text: string, options: YamlReadOptions): Document.Parsed[] {
  const { what } = options;
  const maxBytes = options.maxBytes ?? YAML_MAX_BYTES;
  const maxDepth = options.maxDepth ?? YAML_MAX_DEPTH;
  const maxAliases = options.maxAliases ?? YAML_MAX_ALIAS_NODES;
  const uniqueKeys = options.uniqueKeys ?? true;
  if (text.length > maxBytes || utf8Length(text) > maxBytes) {
    throw new YamlError("YAML_TOO_LARGE", what, `larger than the limit of ${maxBytes} bytes`);
  }
  const lines = new LineCounter();
  const fail: Fail = (code, reason, offset) => {
    if (offset === undefined) throw new YamlError(code, what, reason);
    const pos = lines.linePos(offset);
    throw new YamlError(code, what, reason, { line: pos.line, column: pos.col });
  };
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  for (const token of tokens) {
    if (cstDepth(token, maxDepth) > maxDepth) {
      const offset = (token as { offset?: number }).offset;
      fail("YAML_TOO_DEEP", `nested deeper than the limit of ${maxDepth} levels`, offset);
    }
  }
  // Duplicate keys are checked below in linear time; the library's check is quadratic.
  const composer = new Composer({ ...options.yaml, uniqueKeys: false, prettyErrors: false });
  const docs: Document.Parsed[] = [];
  for (const doc of composer.compose(tokens)) {
    if (docs.length >= (options.maxDocuments ?? Number.POSITIVE_INFINITY)) break;
    docs.push(doc as Document.Parsed);
    const err = doc.errors[0];
    if (err) fail("YAML_INVALID", REASONS[err.code] ?? "malformed YAML", err.pos[0]);
    if (doc.contents) checkDocument(doc.contents, uniqueKeys, maxAliases, fail);
  }
  return docs;
}

/**
 * Reads YAML holding at most one document into plain JavaScript values (as the
 * yaml library's `parse` does, without its console warnings); an empty text is
 * `null`. Throws {@link YamlError}.
 */
export function parseYaml(text: string, options: YamlReadOptions): unknown {
  const docs = parseYamlDocuments(text, options);
  const [doc, extra] = docs;
  if (extra) throw new YamlError("YAML_INVALID", options.what, REASONS.MULTIPLE_DOCS as string);
  return doc ? doc.toJS({ maxAliasCount: -1 }) : null;
}
