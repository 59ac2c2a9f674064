// Which document kinds each supported Talos version accepts.
import { minorLine } from "@taloskit/core";
import type { DocumentRef } from "./documents.js";
import { ConfigPatchError } from "./errors.js";
import { MODEL_BY_VERSION, MODEL_VERSIONS } from "./generated/model.js";

/** Talos versions (major.minor) whose config model taloskit carries. */
export const CONFIG_VERSIONS = MODEL_VERSIONS;

/** One document kind of a version: its id (`apiVersion/kind`) and model struct. */
export interface KindInfo {
  id: string;
  apiVersion: string;
  kind: string;
  /** Struct of the generated model that the document decodes into. */
  def: string;
  /** True when documents of the kind carry a `name` (several may coexist). */
  named: boolean;
}

function kindsOf(version: ConfigVersion): KindInfo[] {
  return MODEL_BY_VERSION[version].kinds.map(([kind, apiVersion, def, named]) =>
    kind === "v1alpha1"
      ? { id: "/v1alpha1", apiVersion: "", kind, def, named: false }
      : { id: `${apiVersion}/${kind}`, apiVersion, kind, def, named: named === 1 },
  );
}

/** A Talos version (major.minor) whose config model taloskit carries. */
export type ConfigVersion = (typeof CONFIG_VERSIONS)[number];

/** Reduces `v1.14.2`, `1.14`, `1.14.0-alpha.1` to `1.14`; throws for versions without a model. */
export function configVersion(version: string): ConfigVersion {
  const line = minorLine(version);
  const mm = line ? `${line.major}.${line.minor}` : version;
  if (!(CONFIG_VERSIONS as readonly string[]).includes(mm)) {
    throw new ConfigPatchError(
      "CONFIG_UNKNOWN_VERSION",
      `Talos version "${version}" has no config model here (known: ${CONFIG_VERSIONS.join(", ")})`,
    );
  }
  return mm as ConfigVersion;
}

const byVersion = new Map<string, Map<string, KindInfo>>(
  CONFIG_VERSIONS.map((v) => [v, new Map(kindsOf(v).map((k) => [k.id, k]))]),
);
const anyVersion = new Map<string, KindInfo>();
for (const v of CONFIG_VERSIONS) for (const k of kindsOf(v)) anyVersion.set(k.id, k);

/** The document kinds of a version. */
export function kindsOfVersion(version: string): KindInfo[] {
  return kindsOf(configVersion(version));
}

function typeId(ref: DocumentRef): string {
  return `${ref.apiVersion}/${ref.kind}`;
}

/** The schema entry of a document kind in a version (any version when none is given). */
export function kindInfo(ref: DocumentRef, version?: string): KindInfo | undefined {
  const table = version === undefined ? anyVersion : byVersion.get(configVersion(version));
  return table?.get(ref.kind === "v1alpha1" && ref.apiVersion === "" ? "/v1alpha1" : typeId(ref));
}

/** True when the version (or, without one, any supported version) knows the kind. */
export function isKnownKind(ref: DocumentRef, version?: string): boolean {
  return kindInfo(ref, version) !== undefined;
}

/** Throws CONFIG_UNKNOWN_KIND when the document kind is not registered for the version. */
export function checkKind(ref: DocumentRef, version?: string): void {
  if (isKnownKind(ref, version)) return;
  const where =
    version === undefined ? "any supported Talos version" : `Talos ${configVersion(version)}`;
  throw new ConfigPatchError(
    "CONFIG_UNKNOWN_KIND",
    `unknown document type "${ref.kind}" (apiVersion "${ref.apiVersion}") in document '${ref.id}': not registered in ${where}`,
    { document: ref.id },
  );
}
