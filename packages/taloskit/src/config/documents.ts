// Parsing a machine config (a stream of YAML documents) into yaml Document nodes,
// naming each document the way Talos does, and printing the stream back.
import { parseYamlDocuments as readYaml, YamlError } from "@taloskit/core";
import { type Document, isMap, isScalar, visit, type YAMLMap } from "yaml";
import { ConfigPatchError } from "./errors.js";

/** Kind used for the legacy `version: v1alpha1` document, which has no `kind` field. */
export const LEGACY_KIND = "v1alpha1";

/** Identity of one config document. */
export interface DocumentRef {
  /** `apiVersion` of a typed document; empty for the legacy v1alpha1 document. */
  apiVersion: string;
  /** `kind`, or `v1alpha1` for the legacy document. */
  kind: string;
  /** `name` of a named document. */
  name?: string;
  /** `apiVersion/kind[/name]`, e.g. `/v1alpha1`, `v1alpha1/LinkConfig/eth0`. */
  id: string;
}

/** One parsed config document: its yaml Document (comments kept) and its identity. */
export interface ConfigDocument {
  ref: DocumentRef;
  doc: Document.Parsed;
  /**
   * A whole-document delete that Talos before 1.14 keeps in the config when the
   * document is missing (it prints as `{}`, which Talos then cannot load).
   */
  ghost?: true;
}

function scalarField(map: YAMLMap, key: string): unknown {
  const node = map.get(key, true);
  return isScalar(node) ? node.value : undefined;
}

/** Works out the Talos document id of a mapping node. */
export function refOf(map: YAMLMap): DocumentRef {
  const kind = scalarField(map, "kind");
  if (kind === undefined || kind === null) {
    return { apiVersion: "", kind: LEGACY_KIND, id: `/${LEGACY_KIND}` };
  }
  const apiVersion = String(scalarField(map, "apiVersion") ?? "");
  const name = scalarField(map, "name");
  const ref: DocumentRef = { apiVersion, kind: String(kind), id: `${apiVersion}/${String(kind)}` };
  if (name !== undefined && name !== null && name !== "") {
    ref.name = String(name);
    ref.id += `/${ref.name}`;
  }
  return ref;
}

const BINARY_TAG = "tag:yaml.org,2002:binary";

/**
 * Go's YAML decoder reads a `!!binary` scalar into a string field as its decoded
 * bytes, and Talos prints that string back; the yaml library keeps bytes that it
 * cannot print once merged into another document. So it becomes plain text here.
 */
function binaryAsText(doc: Document.Parsed): void {
  visit(doc, {
    Scalar(_, node) {
      if (node.tag === BINARY_TAG && node.value instanceof Uint8Array) {
        node.value = new TextDecoder().decode(node.value);
        node.tag = undefined;
        node.type = undefined;
      }
    },
  });
}

/**
 * Parses YAML text into its non-empty documents. `what` names the input in errors
 * (e.g. `base config`, `patch 2`). Every document must be a mapping.
 */
export function parseYamlDocuments(text: string, what: string): Document.Parsed[] {
  let docs: Document.Parsed[];
  try {
    docs = readYaml(text, { what });
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    throw new ConfigPatchError("CONFIG_BAD_YAML", err.message, { cause: err });
  }
  const out: Document.Parsed[] = [];
  for (const doc of docs) {
    binaryAsText(doc);
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    out.push(doc);
  }
  return out;
}

/** Parses a machine config into documents with their ids. An empty text is an empty config. */
export function parseConfig(text: string, what = "config"): ConfigDocument[] {
  return parseYamlDocuments(text, what).map((doc, i) => {
    if (!isMap(doc.contents)) {
      throw new ConfigPatchError(
        "CONFIG_BAD_DOCUMENT",
        `${what}: document ${i + 1} is not a mapping`,
      );
    }
    return { ref: refOf(doc.contents), doc };
  });
}

/** Prints documents as one YAML stream separated by `---`, keeping comments and key order. */
export function printConfig(docs: readonly ConfigDocument[]): string {
  return docs
    .map((d) => {
      d.doc.directives.docStart = null;
      let text: string;
      try {
        text = d.doc.toString({ lineWidth: 0 });
      } catch {
        // e.g. a !!binary value merged into a document whose schema cannot print it
        throw new ConfigPatchError(
          "CONFIG_BAD_DOCUMENT",
          `document ${d.ref.id}: a value cannot be printed as YAML (is it tagged, e.g. !!binary?)`,
          { document: d.ref.id },
        );
      }
      return text.endsWith("\n") ? text : `${text}\n`;
    })
    .join("---\n");
}

/** Plain JavaScript value of each document (for diffs, validation and comparison). */
export function toPlainDocuments(docs: readonly ConfigDocument[]): unknown[] {
  return docs.map((d) => d.doc.toJS({ maxAliasCount: -1 }));
}
