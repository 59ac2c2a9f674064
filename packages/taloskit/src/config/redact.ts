// Keeping secrets (tokens, keys, passwords) out of config diffs. What is secret comes
// from Talos itself: the generated model lists, per Talos minor and document kind, the
// fields its own redaction (RedactSecrets) replaces; taloskit masks the fields any
// modelled minor marks (a config may be meant for any of them, and older minors miss
// secrets newer ones mark, such as 1.10's VolumeConfig passphrases), and a few more of
// its own (below). The unified diff is
// computed from two masked texts: each secret value is replaced by a marker before the
// diff, YAML-aware (inline, quoted and multi-line values, block scalars, list items),
// so no line of a secret can reach the diff, however far it is from its key. The
// node's own dry-run diff cannot be masked beforehand; it is redacted line by line,
// by key and by the secret values both configs hold.

import { parseYamlDocuments } from "@taloskit/core";
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type Scalar } from "yaml";
import { type ConfigChange, type ConfigDiff, unifiedDiff } from "./diff.js";
import { LEGACY_KIND, refOf } from "./documents.js";
import { MODEL_BY_VERSION } from "./generated/model.js";

/**
 * Fields taloskit masks although no Talos release marks them sensitive, per document
 * kind (paths as in the model, `*` a list item or map key): an extension service's
 * environment carries credentials (`TS_AUTHKEY=...`) that Talos prints as they are.
 */
const OWN_SECRET_PATHS: Readonly<Record<string, readonly string[]>> = {
  ExtensionServiceConfig: ["environment.*"],
};

/** Per document kind, the paths of its secret fields (split at dots). */
export const SECRET_PATHS: ReadonlyMap<string, readonly (readonly string[])[]> = (() => {
  const out = new Map<string, Set<string>>();
  const add = (kind: string, paths: readonly string[]) => {
    const set = out.get(kind) ?? new Set<string>();
    out.set(kind, set);
    for (const p of paths) set.add(p);
  };
  for (const model of Object.values(MODEL_BY_VERSION)) {
    for (const [kind, paths] of Object.entries(model.sensitive)) add(kind, paths);
  }
  for (const [kind, paths] of Object.entries(OWN_SECRET_PATHS)) add(kind, paths);
  return new Map([...out].map(([k, set]) => [k, [...set].map((p) => p.split("."))]));
})();

/**
 * Whether a path of a document kind is a secret field. With `loose`, a `*` stands for
 * one or more segments, for dotted paths whose map keys may hold dots themselves.
 */
export function isSecretPath(kind: string, path: readonly string[], loose = false): boolean {
  const match = (pattern: readonly string[], i: number, j: number): boolean => {
    if (i === pattern.length) return j === path.length;
    if (j === path.length) return false;
    if (pattern[i] === "*") {
      if (match(pattern, i + 1, j + 1)) return true;
      return loose && match(pattern, i, j + 1);
    }
    return pattern[i] === path[j] && match(pattern, i + 1, j + 1);
  };
  return (SECRET_PATHS.get(kind) ?? []).some((p) => match(p, 0, 0));
}

/**
 * Keys whose values taloskit masks wherever they appear, on top of the fields Talos
 * marks: Talos 1.10-1.12 miss registry credentials, WireGuard keys and static disk
 * passphrases in the v1alpha1 document (the union of the minors' fields covers those
 * by path), and a key or token under an unmodelled path (a newer Talos, a document of
 * a kind taloskit does not model) is still a secret.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  "token",
  "key",
  "secret",
  "aescbcEncryptionSecret",
  "secretboxEncryptionSecret",
  // RegistryAuthConfig (and machine.registries.config.*.auth)
  "password",
  "auth",
  "identityToken",
  // WireguardConfig (and its peers), service account issuers
  "privateKey",
  "presharedKey",
  // HCloudVIPConfig, DiscoveryIdentityConfig
  "apiToken",
  "clusterSecret",
  // block volume encryption, SideroLinkConfig
  "passphrase",
  "uniqueToken",
]);

/** Marker of a secret value: unchanged, added, removed, or the old side of a change. */
export const REDACTED = "<redacted>";
/** Marker of the new side of a changed secret value. */
export const REDACTED_CHANGED = "<redacted, changed>";

/** Key names of secret values, for text whose document and path are out of sight. */
const KEY_NAMES = new Set(SECRET_KEYS);
for (const paths of SECRET_PATHS.values()) {
  for (const p of paths) {
    const last = p[p.length - 1] as string;
    if (last !== "*") KEY_NAMES.add(last);
  }
}
const KEYS = [...KEY_NAMES].join("|");
/** A diff line holding a secret key with an inline value. */
const SECRET_LINE = new RegExp(`^([ +-]\\s*(?:-\\s+)?)(${KEYS}):[ \\t]+(?=\\S)(?!\\||>).*$`);
/** A diff line holding a secret key whose value is a block scalar (`key: |`, `key: >-`, ...). */
const SECRET_BLOCK = new RegExp(
  `^[ +-](\\s*(?:-\\s+)?)(?:${KEYS}):[ \\t]+[|>][-+0-9]*[ \\t]*(?:#.*)?$`,
);

/**
 * Redacts a value found at a path of a document kind: the value of a secret field or
 * key, and secret values below it.
 */
export function redactValue(kind: string, path: readonly string[], value: unknown): unknown {
  const key = path[path.length - 1] ?? "";
  const secret = SECRET_KEYS.has(key) || isSecretPath(kind, path, true);
  if (secret && value !== undefined && value !== null && value !== "") return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactValue(kind, [...path, "*"], v));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, redactValue(kind, [...path, k], v)]),
    );
  }
  return value;
}

/**
 * Redacts secret values in diff text by its lines alone: inline values of secret keys,
 * and every line of a block scalar (`key: |`) below one. The old side (` ` and `-`
 * lines) and the new side (` ` and `+` lines) are followed apart. Lines of a block
 * whose key is not in the text are not caught here (see {@link redactNodeText}).
 */
export function redactText(text: string): string {
  // Column of the secret key whose block scalar each side is in, or -1.
  const block = { old: -1, new: -1 };
  return text
    .split("\n")
    .map((line) => {
      const tag = line[0];
      if (tag !== " " && tag !== "+" && tag !== "-") {
        // a hunk header or file name: no block continues across it
        block.old = -1;
        block.new = -1;
        return line;
      }
      const body = line.slice(1);
      const sides =
        tag === " "
          ? (["old", "new"] as const)
          : tag === "-"
            ? (["old"] as const)
            : (["new"] as const);
      const indent = body.length - body.trimStart().length;
      const blank = body.trim() === "";
      let inBlock = false;
      for (const side of sides) {
        if (block[side] < 0) continue;
        if (blank || indent > block[side]) inBlock = true;
        else block[side] = -1;
      }
      if (inBlock) return blank ? line : `${tag}${" ".repeat(indent)}${REDACTED}`;
      const start = SECRET_BLOCK.exec(line);
      if (start) {
        for (const side of sides) block[side] = (start[1] as string).length;
        return line;
      }
      return line.replace(SECRET_LINE, `$1$2: ${REDACTED}`);
    })
    .join("\n");
}

/** One secret value in a config text: where it is, and what it is. */
interface Secret {
  /** Document id and path of the value, e.g. `/v1alpha1` + `machine.token`. */
  id: string;
  /** The value, as text (numbers and booleans as JSON). */
  value: string;
  node: Scalar;
}

function valueText(node: Scalar): string | undefined {
  const v = node.value;
  if (v === null || v === undefined || v === "") return undefined;
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Every non-empty scalar under a secret key in a YAML stream, in order of appearance. */
function findSecrets(text: string): Secret[] {
  const out: Secret[] = [];
  const seen = new Set<Node>();
  // Read as the configs themselves are (bounded, linear); a text that cannot be read fails
  // here with a typed error rather than leaving its secrets unfound.
  const docs = parseYamlDocuments(text, { what: "config", uniqueKeys: false });
  docs.forEach((doc, index) => {
    let docId = `#${index}`;
    let kind = "";
    if (isMap(doc.contents)) {
      try {
        const ref = refOf(doc.contents);
        docId = ref.id;
        kind = ref.kind;
      } catch {
        // keep the position
      }
    }
    const add = (node: Scalar, path: string) => {
      const value = valueText(node);
      if (value === undefined || seen.has(node) || !node.range) return;
      seen.add(node);
      out.push({ id: `${docId}\u0000${path}`, value, node });
    };
    // The value of a secret field: scalars (and lists of them) are secrets; in a
    // mapping, secret fields are found by path and name again.
    const secret = (node: unknown, path: string, segs: string[], depth: number): void => {
      if (depth > 64) return;
      if (isScalar(node)) add(node, path);
      else if (isAlias(node)) secret(node.resolve(doc as Document), path, segs, depth + 1);
      else if (isSeq(node)) {
        for (const [i, n] of node.items.entries()) {
          secret(n, `${path}.${i}`, [...segs, "*"], depth + 1);
        }
      } else if (isMap(node)) walk(node, path, segs, depth + 1);
    };
    // `segs` is the path as the model names it (`*` for list items).
    const walk = (node: unknown, path: string, segs: string[], depth: number): void => {
      if (depth > 64) return;
      const at = (k: string) => (path ? `${path}.${k}` : k);
      const visit = (n: unknown, key: string, seg: string, byName: boolean) => {
        const next = [...segs, seg];
        if (byName || isSecretPath(kind, next)) secret(n, at(key), next, depth + 1);
        else walk(n, at(key), next, depth + 1);
      };
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : "?";
          visit(pair.value, key, key, SECRET_KEYS.has(key));
        }
      } else if (isSeq(node)) {
        for (const [i, n] of node.items.entries()) visit(n, String(i), "*", false);
      }
    };
    walk(doc.contents, "", [], 0);
  });
  return out;
}

/** Replaces the source of each secret with its marker (block scalars keep their header). */
function replaceSecrets(text: string, secrets: Secret[], markers: string[]): string {
  const edits = secrets
    .map((s, i) => {
      const [start, end] = s.node.range as [number, number, number];
      const marker = markers[i] as string;
      if (s.node.type !== "BLOCK_LITERAL" && s.node.type !== "BLOCK_FOLDED") {
        return { start, end, text: marker };
      }
      const src = text.slice(start, end);
      const nl = src.indexOf("\n");
      const body = nl < 0 ? "" : src.slice(nl + 1);
      const first = body.split("\n").find((l) => l.trim() !== "") ?? "  ";
      const indent = first.slice(0, first.length - first.trimStart().length);
      const header = nl < 0 ? `${src}\n` : src.slice(0, nl + 1);
      return { start, end, text: `${header}${indent}${marker}${body.endsWith("\n") ? "\n" : ""}` };
    })
    .sort((a, b) => b.start - a.start);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const e of edits) {
    if (e.end > limit) continue; // overlapping (cannot happen for distinct scalars)
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    limit = e.start;
  }
  return out;
}

/**
 * Masks the secret values of two versions of a config, for a diff between them. Every
 * secret becomes {@link REDACTED}, except the new side of a value that changed at the
 * same place, which becomes {@link REDACTED_CHANGED}: an unchanged secret shows no
 * diff line, a changed one shows as changed, and neither shows anything of its value
 * (no hash, no length). A value that only moved (e.g. list items reordered) counts as
 * unchanged, unless that would hide every difference between the two texts.
 */
export function maskSecrets(before: string, after: string): { before: string; after: string } {
  const old = findSecrets(before);
  const neu = findSecrets(after);
  const oldById = new Map(old.map((s) => [s.id, s.value]));
  const oldValues = new Set(old.map((s) => s.value));
  const newValues = new Set(neu.map((s) => s.value));
  const mask = (strict: boolean) => {
    const markers = neu.map((s) => {
      const was = oldById.get(s.id);
      if (was === undefined || was === s.value) return REDACTED;
      const moved = oldValues.has(s.value) && newValues.has(was);
      return moved && !strict ? REDACTED : REDACTED_CHANGED;
    });
    return {
      before: replaceSecrets(
        before,
        old,
        old.map(() => REDACTED),
      ),
      after: replaceSecrets(after, neu, markers),
    };
  };
  const masked = mask(false);
  return masked.before === masked.after && before !== after ? mask(true) : masked;
}

/** A config text (or patch) with every secret value replaced by {@link REDACTED}. */
export function redactConfigText(text: string): string {
  const secrets = findSecrets(text);
  return replaceSecrets(
    text,
    secrets,
    secrets.map(() => REDACTED),
  );
}

/**
 * The lines of every secret value in the given config texts (values and their source
 * lines, trimmed), to find them in text whose keys may be out of sight.
 */
export function secretFragments(...texts: string[]): Set<string> {
  const out = new Set<string>();
  const addLines = (s: string) => {
    for (const line of s.split("\n")) {
      const t = line.trim();
      if (t) out.add(t);
    }
  };
  for (const text of texts) {
    for (const s of findSecrets(text)) {
      addLines(s.value);
      const [start, end] = s.node.range as [number, number, number];
      const src = text.slice(start, end);
      const block = s.node.type === "BLOCK_LITERAL" || s.node.type === "BLOCK_FOLDED";
      const lines = src.split("\n");
      for (const [i, line] of lines.entries()) {
        if (block && i === 0) continue; // the header (`|`, `>-`)
        let t = line.trim();
        if (i === 0) t = t.replace(/^["']/, "");
        if (i === lines.length - 1) t = t.replace(/["']$/, "");
        if (t) out.add(t);
      }
    }
  }
  return out;
}

/** Shorter fragments are only matched as a whole value, not inside other text. */
const MIN_INNER = 6;
/** Indentation, a list dash and a `key: ` before a value. */
const VALUE_PREFIX = /^(\s*(?:-\s+)?(?:[^\s#'"{[][^#]*?:\s+)?)/;

function holds(body: string, fragments: ReadonlySet<string>): boolean {
  const trimmed = body.trim();
  const prefix = VALUE_PREFIX.exec(body)?.[1] ?? "";
  const value = body
    .slice(prefix.length)
    .replace(/\s+#.*$/, "")
    .trim()
    .replace(/^(["'])(.*)\1$/, "$2");
  for (const f of fragments) {
    if (trimmed === f || value === f) return true;
    if (f.length >= MIN_INNER && body.includes(f)) return true;
  }
  return false;
}

/**
 * Redacts text from the node, such as its dry-run summary with its own config diff:
 * by key (as {@link redactText}), and any line holding a line of a secret value in
 * `fragments` (from {@link secretFragments}), however far below its key it is.
 */
export function redactNodeText(text: string, fragments: ReadonlySet<string>): string {
  return redactText(text)
    .split("\n")
    .map((line) => {
      const tag = line[0] === " " || line[0] === "+" || line[0] === "-" ? line[0] : "";
      const body = line.slice(tag.length);
      if (!holds(body, fragments)) return line;
      const prefix = VALUE_PREFIX.exec(body)?.[1] ?? "";
      if (!holds(prefix, fragments)) return `${tag}${prefix}${REDACTED}`;
      return `${tag}${body.slice(0, body.length - body.trimStart().length)}${REDACTED}`;
    })
    .join("\n");
}

/** The kind of a document id (`apiVersion/kind[/name]`, `/v1alpha1` for the legacy one). */
function kindOfId(id: string): string {
  const kind = id.split("/")[1] ?? "";
  return kind === "" ? LEGACY_KIND : kind;
}

/**
 * Replaces the values of secret fields (tokens, keys, passwords, secrets) in a diff.
 * With the two config texts the diff was made from (`diff.unified` compares them as
 * printed by `printConfig`), the unified diff is made again from masked texts (see
 * {@link maskSecrets}), which catches every line of a secret. Without them, its lines
 * are redacted by key alone, which misses the lines of a changed block scalar (a PEM
 * key) that are more than 3 lines below the key.
 */
export function redactDiff(
  diff: ConfigDiff,
  texts?: { before: string; after: string },
): ConfigDiff {
  const changes = diff.changes.map((c): ConfigChange => {
    const out: ConfigChange = { ...c };
    const kind = kindOfId(c.document);
    const path = c.path === "" ? [] : c.path.split(".");
    if ("before" in c) out.before = redactValue(kind, path, c.before);
    if ("after" in c) out.after = redactValue(kind, path, c.after);
    return out;
  });
  let unified: string;
  if (texts) {
    const masked = maskSecrets(texts.before, texts.after);
    unified = unifiedDiff(masked.before, masked.after);
  } else {
    unified = redactText(diff.unified);
  }
  // Not a spread: it would read `diff.unified`, a text diff this one replaces.
  const { addedDocuments, removedDocuments } = diff;
  return { changes, addedDocuments, removedDocuments, unified };
}
