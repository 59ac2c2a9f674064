// How the simulated node judges a machine config sent with ApplyConfiguration:
// structural checks (what a real node refuses with InvalidArgument), which
// changes a Talos 1.13-or-older node can apply without a reboot, and a short
// line diff for dry-run replies. Our own rules, written from Talos's documented
// behaviour; this is not a full config validator.
import { parseAllDocuments } from "yaml";

/** A problem that makes the node refuse a config (sent as InvalidArgument). */
export class ConfigRefused extends Error {}

/** One parsed document of a config: its id (`/v1alpha1`, `v1alpha1/Kind[/name]`) and value. */
export interface SimConfigDocument {
  id: string;
  value: Record<string, unknown>;
}

const MACHINE_TYPES = new Set(["controlplane", "worker", "init"]);

/** Parses a config into documents; throws ConfigRefused on bad YAML or a non-mapping document. */
export function parseSimConfig(text: string): SimConfigDocument[] {
  const out: SimConfigDocument[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const err = doc.errors[0];
    if (err) {
      throw new ConfigRefused(
        `failed to decode config document ${i + 1}: ${err.message.split("\n")[0]}`,
      );
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new ConfigRefused(`failed to decode config document ${i + 1}: not a mapping`);
    }
    const v = value as Record<string, unknown>;
    if (v.kind === undefined) {
      out.push({ id: "/v1alpha1", value: v });
      return;
    }
    if (typeof v.apiVersion !== "string" || !v.apiVersion) {
      throw new ConfigRefused(`document ${i + 1} (kind ${String(v.kind)}) has no apiVersion`);
    }
    const name = typeof v.name === "string" && v.name ? `/${v.name}` : "";
    out.push({ id: `${v.apiVersion}/${String(v.kind)}${name}`, value: v });
  });
  return out;
}

/**
 * The checks a running node makes before it takes a config: it parses, has a
 * v1alpha1 document (unless in maintenance), no document twice, a known
 * machine type and an https control-plane endpoint. Throws ConfigRefused.
 */
export function checkSimConfig(text: string, opts: { maintenance: boolean }): SimConfigDocument[] {
  const docs = parseSimConfig(text);
  const seen = new Set<string>();
  for (const d of docs) {
    if (seen.has(d.id)) throw new ConfigRefused(`duplicate config document ${d.id}`);
    seen.add(d.id);
  }
  const main = docs.find((d) => d.id === "/v1alpha1")?.value;
  if (!main) {
    if (opts.maintenance) return docs;
    throw new ConfigRefused(
      "the applied machine configuration has no v1alpha1 document; patch the machine config instead of replacing it",
    );
  }
  if (main.version !== "v1alpha1") {
    throw new ConfigRefused(`unknown config version ${JSON.stringify(main.version ?? "")}`);
  }
  const machine = (main.machine ?? {}) as Record<string, unknown>;
  if (!MACHINE_TYPES.has(String(machine.type))) {
    throw new ConfigRefused(`machine.type ${JSON.stringify(machine.type ?? "")} is not valid`);
  }
  const cluster = (main.cluster ?? {}) as Record<string, unknown>;
  const endpoint = (cluster.controlPlane as Record<string, unknown> | undefined)?.endpoint;
  if (endpoint !== undefined) {
    let ok = false;
    try {
      ok = new URL(String(endpoint)).protocol === "https:";
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ConfigRefused(
        `cluster.controlPlane.endpoint ${JSON.stringify(endpoint)} is not an https URL`,
      );
    }
  }
  return docs;
}

/**
 * Sections of the v1alpha1 document that a Talos 1.13-or-older node applies
 * without a reboot. Every other field of that document needs a reboot there;
 * the other document kinds always apply live. Talos 1.14 applies every change
 * live (its AUTO mode is NO_REBOOT).
 */
export const LIVE_V1ALPHA1_PATHS: readonly string[] = [
  "debug",
  "cluster",
  "machine.ca",
  "machine.acceptedCAs",
  "machine.time",
  "machine.certSANs",
  "machine.install",
  "machine.network",
  "machine.sysfs",
  "machine.sysctls",
  "machine.logging",
  "machine.controlPlane",
  "machine.kubelet",
  "machine.kernel",
  "machine.registries",
  "machine.pods",
  "machine.seccompProfiles",
  "machine.nodeAnnotations",
  "machine.nodeLabels",
  "machine.nodeTaints",
  "machine.features.kubernetesTalosAPIAccess",
  "machine.features.kubePrism",
  "machine.features.hostDNS",
  "machine.features.imageCache",
  "machine.features.nodeAddressSortAlgorithm",
];

const LIVE = new Set(LIVE_V1ALPHA1_PATHS);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function changedPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (path && LIVE.has(path)) return;
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      changedPaths(a[k], b[k], path ? `${path}.${k}` : k, out);
    }
    return;
  }
  if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) out.push(path || "(document)");
}

/** Paths of the v1alpha1 document whose change needs a reboot on Talos 1.13 and older. */
export function rebootPaths(current: string, next: string): string[] {
  const main = (text: string) =>
    parseSimConfig(text).find((d) => d.id === "/v1alpha1")?.value ?? {};
  const out: string[] = [];
  changedPaths(main(current), main(next), "", out);
  return out;
}

/** A short line diff (changed lines only, `-`/`+` prefixed); empty when equal. */
export function lineDiff(a: string, b: string): string {
  if (a === b) return "";
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] =
        x[i] === y[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      i++;
      j++;
    } else if (
      i < n &&
      (j >= m || ((lcs[i + 1] as number[])[j] as number) >= ((lcs[i] as number[])[j + 1] as number))
    ) {
      out.push(`-${x[i++]}`);
    } else {
      out.push(`+${y[j++]}`);
    }
  }
  return out.join("\n");
}

/** Formats a duration like Go does for whole seconds and minutes: `1m0s`, `30s`, `1.5s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds - h * 3600 - m * 60;
  const sec = `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}
