// RFC 6902 JSON patches applied to a yaml Document in place (comments elsewhere survive).
import { type Document, isMap, isScalar, isSeq, type Node, type YAMLMap, type YAMLSeq } from "yaml";
import { z } from "zod";
import { ConfigPatchError } from "./errors.js";
import { deepEqual } from "./merge-rules.js";

const pointer = z.string().refine((p) => p === "" || p.startsWith("/"), {
  message: "a JSON pointer is empty or starts with '/'",
});

/** One RFC 6902 operation. */
export const JsonPatchOperationSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("add"), path: pointer, value: z.unknown() }),
  z.object({ op: z.literal("remove"), path: pointer }),
  z.object({ op: z.literal("replace"), path: pointer, value: z.unknown() }),
  z.object({ op: z.literal("move"), from: pointer, path: pointer }),
  z.object({ op: z.literal("copy"), from: pointer, path: pointer }),
  z.object({ op: z.literal("test"), path: pointer, value: z.unknown() }),
]);
export type JsonPatchOperation = z.infer<typeof JsonPatchOperationSchema>;

function tokens(path: string): string[] {
  if (path === "") return [];
  return path
    .slice(1)
    .split("/")
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

class OpFailure extends Error {}

function childOf(node: unknown, token: string): unknown {
  if (isMap(node)) {
    if (!node.has(token)) throw new OpFailure(`missing key "${token}"`);
    return node.get(token, true);
  }
  if (isSeq(node)) {
    const i = index(token, node.items.length - 1);
    return node.items[i];
  }
  throw new OpFailure(`cannot step into a scalar at "${token}"`);
}

// Talos's JSON patch library also takes negative indices, counted from the end.
function index(token: string, max: number): number {
  if (!/^-?(0|[1-9][0-9]*)$/.test(token)) throw new OpFailure(`"${token}" is not a list index`);
  let i = Number(token);
  if (i < 0) {
    if (i < -(max + 1)) throw new OpFailure(`index ${i} is out of range`);
    i += max + 1;
  }
  if (i > max) throw new OpFailure(`index ${i} is out of range`);
  return i;
}

function missingKey(doc: Document, toks: string[]): boolean {
  if (toks.length === 0) return false;
  const { parent, last } = parentOf(doc, toks);
  return isMap(parent) && !parent.has(last);
}

/** The value at a path where a missing key of a mapping reads as null (copy and test do). */
function lookup(doc: Document, toks: string[]): unknown {
  if (toks.length === 0) return doc.contents;
  const { parent, last } = parentOf(doc, toks);
  if (isMap(parent) && !parent.has(last)) return null;
  return childOf(parent, last);
}

function resolve(doc: Document, toks: string[]): unknown {
  let node: unknown = doc.contents;
  for (const t of toks) node = childOf(node, t);
  return node;
}

function parentOf(doc: Document, toks: string[]): { parent: YAMLMap | YAMLSeq; last: string } {
  const last = toks[toks.length - 1];
  if (last === undefined) throw new OpFailure("the root cannot be the target");
  const parent = resolve(doc, toks.slice(0, -1));
  if (!isMap(parent) && !isSeq(parent)) throw new OpFailure("the parent is not a map or a list");
  return { parent, last };
}

function add(doc: Document, toks: string[], value: Node): void {
  if (toks.length === 0) {
    doc.contents = value;
    return;
  }
  const { parent, last } = parentOf(doc, toks);
  if (isMap(parent)) {
    parent.set(last, value);
  } else if (last === "-") {
    parent.items.push(value);
  } else {
    parent.items.splice(index(last, parent.items.length), 0, value);
  }
}

function remove(doc: Document, toks: string[]): unknown {
  const { parent, last } = parentOf(doc, toks);
  const old = childOf(parent, last);
  if (isMap(parent)) parent.delete(last);
  else parent.items.splice(index(last, parent.items.length - 1), 1);
  return old;
}

function plain(node: unknown): unknown {
  if (isScalar(node)) return node.value;
  if (node && typeof node === "object" && "toJSON" in node) {
    return (node as { toJSON(): unknown }).toJSON();
  }
  return node;
}

/** Parses and checks a list of operations (from JSON or YAML). */
export function parseJsonPatch(value: unknown, what = "JSON6902 patch"): JsonPatchOperation[] {
  const parsed = z.array(JsonPatchOperationSchema).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue ? issue.path.join(".") : "";
    throw new ConfigPatchError(
      "CONFIG_BAD_PATCH",
      `${what}: invalid operation${at ? ` at ${at}` : ""}: ${issue?.message ?? "bad input"}`,
    );
  }
  return parsed.data;
}

/** Applies operations in order to `doc`, in place. `document` names it in errors. */
export function applyJsonPatch(
  doc: Document,
  ops: readonly JsonPatchOperation[],
  document: string,
): void {
  ops.forEach((op, i) => {
    const toks = tokens(op.path);
    try {
      switch (op.op) {
        case "add":
          add(doc, toks, doc.createNode(op.value) as Node);
          break;
        case "remove":
          remove(doc, toks);
          break;
        case "replace":
          if (toks.length === 0) {
            doc.contents = doc.createNode(op.value) as Node;
          } else {
            const { parent, last } = parentOf(doc, toks);
            // a missing key of a mapping is added, as Talos's JSON patch library does
            if (isSeq(parent)) childOf(parent, last);
            if (isMap(parent)) parent.set(last, doc.createNode(op.value));
            else parent.items[index(last, parent.items.length - 1)] = doc.createNode(op.value);
          }
          break;
        case "move": {
          const from = tokens(op.from);
          if (op.path.startsWith(`${op.from}/`))
            throw new OpFailure("cannot move a value into itself");
          const moved = remove(doc, from);
          add(doc, toks, moved as Node);
          break;
        }
        case "copy": {
          const value = lookup(doc, tokens(op.from));
          add(doc, toks, doc.createNode(plain(value)) as Node);
          break;
        }
        case "test": {
          // a missing key of a mapping only passes a test without a value
          const failed = missingKey(doc, toks)
            ? op.value !== undefined
            : !deepEqual(plain(lookup(doc, toks)), op.value ?? null);
          if (failed) {
            throw new OpFailure("the value differs");
          }
          break;
        }
      }
    } catch (err) {
      if (!(err instanceof OpFailure)) throw err;
      throw new ConfigPatchError(
        "CONFIG_JSONPATCH_FAILED",
        `JSON6902 operation ${i + 1} (${op.op} ${op.path}) does not apply to document '${document}': ${err.message}`,
        { document, path: op.path, cause: err },
      );
    }
  });
}
