// Shared helpers of the config tests: fixture paths and semantic comparison.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

/**
 * Talos's own strategic-merge cases, read at test time from the shared facts beside
 * the repository (`../shared/talos-config/patch-cases` from the repository root).
 */
export const CASES_DIR = join(
  import.meta.dirname,
  "../../../../../shared/talos-config/patch-cases",
);

export function fixture(name: string): string {
  return readFileSync(join(CASES_DIR, name), "utf8");
}

/** Plain values of every non-empty document. */
export function plainDocs(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined);
}

/**
 * Semantic normal form of a config text, used to compare configs: Talos prints zero
 * values of typed fields (`type: ""`, `certSANs: []`, `cluster: null`) that mean the
 * same as absent, so null, "", [] and {} are dropped. Inline manifest contents are
 * YAML streams and are compared as parsed documents (a leading blank line does not
 * change them).
 */
export function semantic(text: string): unknown[] {
  return plainDocs(text).map((d) => normalizeDeep(d));
}

function normalizeDeep(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalizeDeep(v, key));
    return items.length ? items : undefined;
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const n =
        key === "inlineManifests" && k === "contents" && typeof v === "string"
          ? plainDocs(v)
          : normalizeDeep(v, k);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (value === null || value === "") return undefined;
  return value;
}
