// Validation of machine configs with Talos's own acceptance rules: each document is
// decoded as Talos's config loader decodes it (see decoder.ts and the generated model of
// every supported release), then the semantic checks of Talos's Validate that matter.
import { Document, isMap, isScalar, isSeq, type Node, type YAMLMap } from "yaml";
import {
  type DecodeIssue,
  NodeDecoder,
  resolveScalar,
  scalarValue,
  structInfo,
} from "./decoder.js";
import { parseYamlDocuments } from "./documents.js";
import { type ConfigIssue, ConfigPatchError } from "./errors.js";
import { type ConfigVersion, configVersion, kindInfo } from "./versions.js";

/** Result of validating a config. */
export interface ValidationResult {
  valid: boolean;
  /** Talos version the config was checked against (`major.minor`). */
  talosVersion: ConfigVersion;
  issues: ConfigIssue[];
  /** Accepted but worth knowing: deprecated fields, with what replaces them. */
  warnings: ConfigIssue[];
}

/** Options of {@link validateDocuments}. */
export interface ValidateOptions {
  /**
   * Validate patch documents: a patch is partial, so required fields and whole-config
   * checks are skipped, and `$patch: delete` is allowed as Talos's patch loader allows it.
   */
  partial?: boolean;
}

const LEGACY_KEYS = ["machine", "cluster", "debug", "persist"];

function get(map: YAMLMap, key: string): Node | undefined {
  for (const p of map.items) {
    if (isScalar(p.key) && scalarValue(p.key) === key) return (p.value ?? undefined) as Node;
  }
  return undefined;
}

function has(map: YAMLMap, key: string): boolean {
  return map.items.some((p) => isScalar(p.key) && scalarValue(p.key) === key);
}

function text(node: Node | undefined): string {
  if (node === undefined || node === null) return "";
  if (isScalar(node)) {
    const r = resolveScalar(node);
    return r.t === "null" ? "" : (scalarValue(node) ?? "");
  }
  return "";
}

function isDeleteDoc(map: YAMLMap): boolean {
  return text(get(map, "$patch")) === "delete";
}

interface Checked {
  issues: ConfigIssue[];
  warnings: ConfigIssue[];
}

function documentsOf(docs: readonly Document[], version: ConfigVersion, partial: boolean): Checked {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const seen = new Set<string>();
  const kinds = new Set<string>();
  for (const doc of docs) {
    const r = doc.contents as Node | null;
    if (r && isMap(r)) kinds.add(text(get(r, "kind")));
  }
  let legacy: YAMLMap | undefined;
  docs.forEach((doc, i) => {
    const root = doc.contents as Node | null;
    const where = `#${i + 1}`;
    if (root === null || root === undefined) return;
    if (isScalar(root) && resolveScalar(root).t === "null") return;
    if (!isMap(root)) {
      issues.push({
        document: where,
        path: "",
        rule: "type",
        message: "a document must be a mapping",
      });
      return;
    }
    const apiVersion = text(get(root, "apiVersion"));
    const kindText = text(get(root, "kind"));
    const name = text(get(root, "name"));
    const id = kindText === "" ? "/v1alpha1" : `${apiVersion}/${kindText}${name ? `/${name}` : ""}`;
    if (partial && isDeleteDoc(root)) {
      if ((kindText === "") !== (apiVersion === "")) {
        issues.push({
          document: id,
          path: "",
          rule: "patchDelete",
          message:
            "kind and apiVersion must be both set (or both left out) in a $patch: delete document",
        });
      }
      return;
    }
    const key = `${apiVersion}/${kindText || "v1alpha1"}/${name}`;
    if (!partial && seen.has(key)) {
      issues.push({
        document: id,
        path: "",
        rule: "duplicate",
        message: `duplicate document ${key}`,
      });
      return;
    }
    seen.add(key);
    for (const k of ["kind", "apiVersion"]) {
      const v = get(root, k);
      if (v && (isMap(v) || isSeq(v))) {
        issues.push({ document: id, path: k, rule: "type", message: `${k} must be a scalar` });
        return;
      }
    }
    const legacyVersion = LEGACY_KEYS.some((k) => has(root, k)) ? "v1alpha1" : apiVersion;
    let ref: { apiVersion: string; kind: string; id: string } | undefined;
    if (legacyVersion === "v1alpha1" && kindText === "")
      ref = { apiVersion: "", kind: "v1alpha1", id };
    else if (kindText === "") {
      issues.push({ document: id, path: "kind", rule: "required", message: "missing kind" });
      return;
    } else if (legacyVersion === "") {
      issues.push({
        document: id,
        path: "apiVersion",
        rule: "required",
        message: "missing apiVersion",
      });
      return;
    } else ref = { apiVersion: legacyVersion, kind: kindText, id };
    const info = kindInfo(ref, version);
    if (!info) {
      issues.push({
        document: id,
        path: "kind",
        rule: "unknownKind",
        message: `document kind "${kindText}" (apiVersion "${legacyVersion}") is not known to Talos ${version}`,
      });
      return;
    }
    const dec = new NodeDecoder(version, doc, partial);
    dec.struct(root, info.def, "");
    const tag = (d: DecodeIssue): ConfigIssue => ({ document: id, ...d });
    issues.push(...dec.issues.map(tag));
    warnings.push(...dec.warnings.map(tag));
    if (!partial && dec.issues.length === 0)
      issues.push(...semantic(info.kind, info.named, root, id));
    if (info.kind === "v1alpha1") legacy = root;
  });
  if (!partial && issues.length === 0 && legacy)
    issues.push(
      ...legacyChecks(legacy, version, kinds),
      ...conflicts(legacy, warnings, kinds, version),
    );
  return { issues, warnings };
}

function at(map: YAMLMap | undefined, ...path: string[]): Node | undefined {
  let n: Node | undefined = map;
  for (const p of path) {
    if (!n || !isMap(n)) return undefined;
    n = get(n, p);
  }
  return n;
}

/**
 * Named kinds whose documents Talos takes without a name; every other named kind
 * refuses a document that leaves its name empty.
 */
const NAME_OPTIONAL = new Set(["PCIDriverRebindConfig", "TrustedRootsConfig"]);

/** Checks of a document's own Validate that a whole config must pass (a subset). */
function semantic(kind: string, named: boolean, root: YAMLMap, id: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: string, rule: string, message: string) =>
    out.push({ document: id, path, rule, message });
  if (named && !NAME_OPTIONAL.has(kind) && text(get(root, "name")) === "")
    add("name", "required", `a ${kind} document needs a name`);
  if (kind === "KubeSpanConfig") {
    const mtu = intValue(get(root, "mtu"));
    if (mtu !== undefined && mtu < KUBESPAN_MIN_MTU)
      add("mtu", "range", `kubespan link MTU must be at least ${KUBESPAN_MIN_MTU}`);
  }
  return out;
}

/**
 * A deprecated v1alpha1 field may not be set beside a document that replaces it: Talos
 * refuses the pair (the warnings already carry the replacement names).
 */
function conflicts(
  root: YAMLMap,
  warnings: ConfigIssue[],
  kinds: Set<string>,
  version: ConfigVersion,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const w of warnings) {
    if (w.document !== "/v1alpha1") continue;
    // A section replaced by several documents, whose own fields are deprecated one by one
    // (machine.network), clashes through those fields and not as a whole; a section
    // replaced by one document (machine.kubelet) clashes as a whole.
    const replacements = /use (.*) instead/.exec(w.message)?.[1]?.split(" or ") ?? [];
    if (replacements.length > 1 && deprecatedFieldByField(version, w.path)) continue;
    const names = /use (.*) instead/.exec(w.message)?.[1]?.split(" or ") ?? [];
    const leaf = w.path.split(".").at(-1) ?? "";
    const value = at(root, ...w.path.split("."));
    if (
      leaf !== "allowSchedulingOnControlPlanes" &&
      value &&
      isScalar(value) &&
      !truthy(value) &&
      /^(false|n|no|off)$/i.test(text(value))
    )
      continue;
    if (leaf === "stableHostname") names.push("HostnameConfig");
    const hit = names.find((n) =>
      [...kinds].some((k) => k === n || (k.startsWith(n) && k.endsWith("Config"))),
    );
    if (hit)
      out.push({
        document: "/v1alpha1",
        path: w.path,
        rule: "conflict",
        message: `.${w.path} is already set by a ${hit} document`,
      });
  }
  return out;
}

/** True when the v1alpha1 field at `path` is a struct some of whose own fields are deprecated. */
function deprecatedFieldByField(version: ConfigVersion, path: string): boolean {
  let type = "#v1alpha1.Config";
  for (const key of path.split(".")) {
    const field = type.startsWith("#")
      ? structInfo(version, type.slice(1))?.fields.get(key)
      : undefined;
    if (!field) return false;
    type = field.type;
  }
  const info = type.startsWith("#") ? structInfo(version, type.slice(1)) : undefined;
  return [...(info?.fields.values() ?? [])].some((f) => f.deprecated !== undefined);
}

function nonEmpty(node: Node | undefined): boolean {
  if (node === undefined || node === null) return false;
  if (isScalar(node)) return text(node) !== "";
  if (isMap(node) || isSeq(node)) return node.items.length > 0;
  return true;
}

function truthy(node: Node | undefined): boolean {
  if (!node || !isScalar(node)) return false;
  const r = resolveScalar(node);
  return (
    (r.t === "bool" && r.v) ||
    ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"].includes(text(node))
  );
}

/** Smallest link MTU that KubeSpan accepts (IPv6's minimum). */
const KUBESPAN_MIN_MTU = 1280n;

/**
 * The integer a decoded number field holds: releases that truncate floats (see the
 * decoder) keep the integer part, so `1.5` is 1.
 */
function intValue(node: Node | undefined): bigint | undefined {
  if (!node || !isScalar(node)) return undefined;
  const r = resolveScalar(node);
  if (r.t === "int") return r.v;
  if (r.t === "float" && Number.isFinite(r.v)) return BigInt(Math.trunc(r.v));
  return undefined;
}

/** Talos's checks of the v1alpha1 document (metal mode, local validation). */
function legacyChecks(root: YAMLMap, version: ConfigVersion, kinds: Set<string>): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: string, rule: string, message: string) =>
    out.push({ document: "/v1alpha1", path, rule, message });
  const machine = at(root, "machine");
  if (!machine || !isMap(machine)) {
    // Talos stops at a v1alpha1 document without machine instructions
    add("machine", "required", "machine instructions are required");
    return out;
  }
  {
    const cluster = at(root, "cluster");
    if (!cluster || !isMap(cluster))
      add("cluster", "required", "cluster instructions are required");
    // Talos's machine type parser: empty and "join" mean worker
    const raw = text(at(root, "machine", "type"));
    const type = raw === "" || raw === "join" ? "worker" : raw;
    if (!["controlplane", "worker", "init"].includes(type))
      add("machine.type", "enum", `unknown machine type "${raw}"`);
    // before 1.14 a metal install needs install instructions; 1.14 has UnattendedInstallConfig
    if (version !== "1.14" && !isMap(at(root, "machine", "install") ?? null))
      add("machine.install", "required", 'install instructions are required in "metal" mode');
    const install = at(root, "machine", "install");
    if (install && isMap(install)) {
      if (!nonEmpty(get(install, "disk")) && !nonEmpty(get(install, "diskSelector")))
        add("machine.install", "required", "either install disk or diskSelector should be defined");
      if (nonEmpty(get(install, "extraKernelArgs")) && truthy(get(install, "grubUseUKICmdline")))
        add(
          "machine.install.extraKernelArgs",
          "conflict",
          "install.extraKernelArgs and install.grubUseUKICmdline can't be used together",
        );
    }
    const ca = at(root, "machine", "ca");
    if (
      !nonEmpty(ca && isMap(ca) ? get(ca, "crt") : undefined) &&
      !nonEmpty(at(root, "machine", "acceptedCAs"))
    )
      add("machine.ca", "required", "issuing CA or some accepted CAs are required");
    const etcd = at(root, "cluster", "etcd");
    if (type === "worker" && etcd && isMap(etcd))
      add("cluster.etcd", "semantic", "etcd config is only allowed on control plane machines");
    const cp = at(root, "cluster", "controlPlane");
    if (cp && isMap(cp) && !nonEmpty(get(cp, "endpoint")))
      add("cluster.controlPlane.endpoint", "required", "cluster controlplane endpoint is required");
  }
  // KubeSpan's WireGuard link needs room for IPv6: an enabled KubeSpan with a link MTU
  // under 1280 is refused (no MTU, or 0, means the default of 1420).
  const kubespan = at(root, "machine", "network", "kubespan");
  if (kubespan && isMap(kubespan) && truthy(get(kubespan, "enabled"))) {
    const mtu = intValue(get(kubespan, "mtu"));
    if (mtu !== undefined && mtu !== 0n && mtu < KUBESPAN_MIN_MTU)
      add(
        "machine.network.kubespan.mtu",
        "range",
        `kubespan link MTU must be at least ${KUBESPAN_MIN_MTU}`,
      );
  }
  // Up to 1.13 KubeSpan needs cluster discovery (1.13 reads KubeSpan from its own document
  // when there is one; that document's content is not looked at here).
  const discovery = truthy(at(root, "cluster", "discovery", "enabled"));
  const legacyKubeSpan = version !== "1.13" || !kinds.has("KubeSpanConfig");
  if (version !== "1.14" && legacyKubeSpan && kubespan && isMap(kubespan)) {
    if (truthy(get(kubespan, "enabled")) && !discovery)
      add(
        "cluster.discovery",
        "required",
        ".cluster.discovery should be enabled when .machine.network.kubespan is enabled",
      );
  }
  const persist = at(root, "persist");
  if (persist && isScalar(persist)) {
    const r = resolveScalar(persist);
    const t = scalarValue(persist) ?? "";
    if ((r.t === "bool" && !r.v) || ["n", "N", "no", "No", "NO", "off", "Off", "OFF"].includes(t))
      add("persist", "semantic", ".persist should be enabled");
  }
  return out;
}

/** Validates parsed YAML documents for a Talos version. */
export function validateYamlDocuments(
  docs: readonly Document[],
  talosVersion: string,
  options: ValidateOptions = {},
): ValidationResult {
  const version = configVersion(talosVersion);
  const { issues, warnings } = documentsOf(docs, version, options.partial === true);
  return { valid: issues.length === 0, talosVersion: version, issues, warnings };
}

/** Validates plain documents (one object per YAML document) for a Talos version. */
export function validateDocuments(
  documents: readonly unknown[],
  talosVersion: string,
  options: ValidateOptions = {},
): ValidationResult {
  return validateYamlDocuments(
    documents.map((d) => new Document(d)),
    talosVersion,
    options,
  );
}

/** Validates a config text for a Talos version; YAML errors throw, decoding problems are issues. */
export function validateConfig(
  text: string,
  talosVersion: string,
  options: ValidateOptions = {},
): ValidationResult {
  configVersion(talosVersion);
  return validateYamlDocuments(parseYamlDocuments(text, "config"), talosVersion, options);
}

/** Like {@link validateConfig}, but throws CONFIG_INVALID naming the first problems. */
export function assertValidConfig(text: string, talosVersion: string): void {
  const result = validateConfig(text, talosVersion);
  if (result.valid) return;
  throw invalid(result);
}

/** The CONFIG_INVALID error for a failed validation. */
export function invalid(result: ValidationResult): ConfigPatchError {
  const shown = result.issues
    .slice(0, 5)
    .map((i) => `document '${i.document}' path '${i.path}' (${i.rule}): ${i.message}`);
  const more = result.issues.length > 5 ? `; and ${result.issues.length - 5} more` : "";
  const first = result.issues[0];
  return new ConfigPatchError(
    "CONFIG_INVALID",
    `config is not valid for Talos ${result.talosVersion}: ${shown.join("; ")}${more}`,
    {
      issues: result.issues,
      ...(first ? { document: first.document, path: first.path } : {}),
    },
  );
}
