// The exceptions to "maps merge, lists append, scalars replace" in Talos's strategic
// merge, keyed by document kind and field path. Paths use dots between keys and `[]`
// for "any item of a list", e.g. `machine.network.interfaces[].vlans`.
import { MODEL_BY_VERSION, MODEL_DEFS } from "./generated/model.js";

/**
 * How a field is merged when it differs from the default rules. Fields that a patch
 * replaces whole are not listed here: the model carries Talos's merge:"replace" tags.
 */
export type MergeRule =
  /** A list whose items are matched by key; matches merge, new items append. */
  | {
      type: "keyed";
      match: (base: Record<string, unknown>, patch: Record<string, unknown>) => boolean;
    }
  /** A string map whose entries are each replaced whole (Talos `Args`). */
  | { type: "args" };

function byField(field: string): MergeRule {
  return {
    type: "keyed",
    match: (base, patch) => patch[field] !== undefined && base[field] === patch[field],
  };
}

const RULES: Record<string, MergeRule> = {
  "v1alpha1:machine.network.interfaces": {
    type: "keyed",
    match: (base, patch) => {
      if (typeof patch.interface === "string" && patch.interface !== "") {
        return base.interface === patch.interface;
      }
      if (patch.deviceSelector !== undefined && patch.deviceSelector !== null) {
        return (
          (base.interface === undefined || base.interface === "") &&
          deepEqual(base.deviceSelector, patch.deviceSelector)
        );
      }
      return false;
    },
  },
  "v1alpha1:machine.network.interfaces[].vlans": byField("vlanId"),
  "v1alpha1:cluster.apiServer.admissionControl": byField("name"),
  "ExtensionServiceConfig:configFiles": byField("mountPath"),
};

/**
 * CEL expression fields (Talos's `cel.Expression`). A strategic merge into a
 * document drops every such field of the base that the patch does not set itself,
 * wherever the patch touches the document (Talos v1.10 to v1.14 behave so).
 */
export const CEL_FIELDS: Record<string, readonly (readonly string[])[]> = {
  UnattendedInstallConfig: [["provisioning", "diskSelector", "match"]],
  VolumeConfig: [["provisioning", "diskSelector", "match"]],
  UserVolumeConfig: [["provisioning", "diskSelector", "match"]],
  RawVolumeConfig: [["provisioning", "diskSelector", "match"]],
  SwapVolumeConfig: [["provisioning", "diskSelector", "match"]],
  ExistingVolumeConfig: [["discovery", "volumeSelector", "match"]],
  LinkAliasConfig: [["selector", "match"]],
  OOMConfig: [["triggerExpression"], ["cgroupRankingExpression"]],
};

/** The merge rule for a field of a document kind, if it has one. */
export function ruleFor(kind: string, path: readonly string[]): MergeRule | undefined {
  const last = path[path.length - 1];
  if (last === "extraArgs") return { type: "args" };
  return RULES[`${kind}:${path.join(".").replaceAll(".[]", "[]")}`];
}

/** Structural equality of plain YAML values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  const bo = b as Record<string, unknown>;
  return ak.every(
    (k) => Object.hasOwn(bo, k) && deepEqual((a as Record<string, unknown>)[k], bo[k]),
  );
}

// ------------------------------------------------------------ Go types of documents

/** A field of a Go struct as the generated model describes it. */
export interface GoField {
  /** yaml name; empty for an inline (embedded) field. */
  name: string;
  /** Model type code (see generated/model.ts). */
  type: string;
  pointer: boolean;
  inline: boolean;
  /** A patch replaces the value whole instead of merging into it (Go tag merge:"replace"). */
  replace: boolean;
}

/** The fields of a model struct in a Talos minor, in Go order; undefined when unknown. */
export function goFields(version: ModelVersion, struct: string): readonly GoField[] | undefined {
  const idx = MODEL_BY_VERSION[version].types[struct];
  if (idx === undefined) return undefined;
  return (MODEL_DEFS[idx] ?? []).map(([name, type, flags]) => ({
    name,
    type,
    pointer: flags?.includes("p") === true,
    inline: flags?.includes("i") === true,
    replace: flags?.includes("r") === true,
  }));
}

/**
 * True when Talos replaces the field at `path` (below the struct `struct`) whole in a
 * merge, as its Go tag merge:"replace" says, instead of merging into it.
 */
export function replacedWhole(
  version: ModelVersion,
  struct: string,
  path: readonly string[],
): boolean {
  let type = `#${struct}`;
  let replace = false;
  for (const key of path) {
    const t = underlying(type);
    const f = t.startsWith("#")
      ? goFields(version, t.slice(1))?.find((x) => !x.inline && x.name === key)
      : undefined;
    if (!f) return false;
    type = f.type;
    replace = f.replace;
  }
  return replace;
}

/** What a type code is underneath its name: `T:x=#y` and `U:x=[z` give `#y` and `[z`. */
export function underlying(type: string): string {
  if (type.startsWith("T:") || type.startsWith("U:")) {
    const at = type.indexOf("=");
    return at >= 0 ? type.slice(at + 1) : "a";
  }
  return type;
}

export type ModelVersion = keyof typeof MODEL_BY_VERSION;
