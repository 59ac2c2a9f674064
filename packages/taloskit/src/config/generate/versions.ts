// The Talos versions whose configs taloskit generates, and their defaults.
import { ConfigPatchError } from "../errors.js";

/** Talos minors whose documents {@link generateConfig} writes. */
export const GENERATE_VERSIONS = ["1.12", "1.13", "1.14"] as const;
export type GenerateVersion = (typeof GENERATE_VERSIONS)[number];

/** The Kubernetes version each Talos minor's generator defaults to (its own default, from its release). */
export const DEFAULT_KUBERNETES_VERSIONS: Record<GenerateVersion, string> = {
  "1.12": "1.35.4",
  "1.13": "1.36.3",
  "1.14": "1.37.0",
};

/**
 * The minor of a `--talos-version` value (`1.13`, `v1.13`, `v1.13.2`); the newest
 * supported one when none is given. Anything else throws {@link ConfigPatchError}.
 */
export function generateVersion(value?: string): GenerateVersion {
  if (value === undefined || value === "")
    return GENERATE_VERSIONS[GENERATE_VERSIONS.length - 1] as GenerateVersion;
  const m = /^v?(\d+)\.(\d+)(?:\.\d+(?:-[0-9A-Za-z.-]+)?)?$/.exec(value.trim());
  const minor = m ? `${m[1]}.${m[2]}` : undefined;
  const found = GENERATE_VERSIONS.find((v) => v === minor);
  if (!found)
    throw new ConfigPatchError(
      "CONFIG_UNKNOWN_VERSION",
      `talos version ${JSON.stringify(value.slice(0, 40))} is not one taloskit generates configs for (${GENERATE_VERSIONS.join(", ")})`,
    );
  return found;
}
