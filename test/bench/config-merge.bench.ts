// Benchmark: merge a 100-patch series into a large multi-document machine config with
// Talos's strategic-merge semantics (taloskit), against a plain deep merge of the parsed
// YAML in the same run (a floor for the overhead of Talos's rules and of keeping
// comments). Prints patches per second for both and their ratio.
import { createRequire } from "node:module";
import { loadPatch, patchConfig } from "taloskit";

// The yaml package is a dependency of taloskit, not of the repository root.
interface YamlLib {
  parseAllDocuments(text: string): { toJS(): unknown }[];
  stringify(value: unknown): string;
}
const { parseAllDocuments, stringify } = createRequire(
  new URL("../../packages/taloskit/package.json", import.meta.url),
)("yaml") as YamlLib;

const LINKS = 150;

function baseConfig(): string {
  const parts: string[] = [];
  const sysctls = Array.from(
    { length: 60 },
    (_, i) => `    net.example.key${i}: "${i}" # tuned`,
  ).join("\n");
  const labels = Array.from({ length: 40 }, (_, i) => `    example.com/label-${i}: v${i}`).join(
    "\n",
  );
  parts.push(`# large base config
version: v1alpha1
machine:
  type: controlplane
  token: abc.def
  certSANs: [a.example, b.example]
  sysctls:
${sysctls}
  nodeLabels:
${labels}
  kernel:
    modules:
      - name: br_netfilter
cluster:
  clusterName: bench
  controlPlane:
    endpoint: https://bench:6443
  network:
    podSubnets: [10.244.0.0/16]
  apiServer:
    extraArgs:
      feature-gates: A=true
    admissionControl:
      - name: PodSecurity
        configuration:
          defaults: { enforce: baseline }
`);
  for (let i = 0; i < LINKS; i++) {
    parts.push(`apiVersion: v1alpha1
kind: LinkConfig
name: eth${i}
mtu: 1500
addresses:
  - address: 10.${i % 250}.0.2/24
routes:
  - gateway: 10.${i % 250}.0.1
`);
  }
  for (let i = 0; i < 30; i++) {
    parts.push(`apiVersion: v1alpha1
kind: ExtensionServiceConfig
name: ext${i}
configFiles:
  - content: hello
    mountPath: /etc/ext${i}/a.conf
environment:
  - A=B
`);
  }
  return parts.join("---\n");
}

function patchSeries(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 100; i++) {
    switch (i % 5) {
      case 0:
        out.push(
          `machine:\n  sysctls:\n    net.example.added${i}: "1"\n  certSANs: [p${i}.example]\n`,
        );
        break;
      case 1:
        out.push(
          `apiVersion: v1alpha1\nkind: LinkConfig\nname: eth${i % LINKS}\nmtu: 9000\naddresses:\n  - address: 10.99.${i}.2/24\n`,
        );
        break;
      case 2:
        out.push(
          `cluster:\n  apiServer:\n    extraArgs:\n      v: "${i}"\n    admissionControl:\n      - name: PodSecurity\n        configuration:\n          defaults: { audit: restricted }\n      - name: Plugin${i}\n  network:\n    podSubnets: [10.${i}.0.0/16]\n`,
        );
        break;
      case 3:
        out.push(
          `apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: ext${i % 30}\nconfigFiles:\n  - content: v${i}\n    mountPath: /etc/ext${i % 30}/a.conf\nenvironment:\n  - N=${i}\n`,
        );
        break;
      default:
        out.push(
          `machine:\n  sysctls:\n    net.example.added${i - 4}:\n      $patch: delete\n  nodeLabels:\n    example.com/new-${i}: x\n`,
        );
    }
  }
  return out;
}

type Plain = Record<string, unknown>;

function deepMerge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch)) return [...base, ...patch];
  if (
    base &&
    patch &&
    typeof base === "object" &&
    typeof patch === "object" &&
    !Array.isArray(base) &&
    !Array.isArray(patch)
  ) {
    const out: Plain = { ...(base as Plain) };
    for (const [k, v] of Object.entries(patch as Plain))
      out[k] = k in out ? deepMerge(out[k], v) : v;
    return out;
  }
  return patch ?? base;
}

function idOf(d: Plain): string {
  return d.kind ? `${String(d.apiVersion)}/${String(d.kind)}/${String(d.name ?? "")}` : "/v1alpha1";
}

/** The baseline: parse, deep-merge plain objects by document id, print. */
function plainMerge(base: string, patches: Plain[][]): string {
  let plain = parseAllDocuments(base).map((d) => d.toJS() as Plain);
  for (const patch of patches) {
    for (const pdoc of patch) {
      const id = idOf(pdoc);
      const at = plain.findIndex((d) => idOf(d) === id);
      if (at < 0) plain = [...plain, pdoc];
      else plain[at] = deepMerge(plain[at], pdoc) as Plain;
    }
  }
  return plain.map((d) => stringify(d)).join("---\n");
}

function measure(label: string, fn: () => void, minMs = 1500): number {
  for (let i = 0; i < 3; i++) fn();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    runs++;
  }
  const seconds = (performance.now() - start) / 1000;
  const perSecond = (runs * 100) / seconds;
  console.log(
    `${label}: ${perSecond.toFixed(0)} patches/s (${runs} runs of 100 patches, ${((seconds * 1000) / runs).toFixed(1)} ms per series)`,
  );
  return perSecond;
}

const base = baseConfig();
const texts = patchSeries();
const loaded = texts.map((t, i) => loadPatch(t, `patch ${i + 1}`));
const plainPatches = texts.map((t) => parseAllDocuments(t).map((d) => d.toJS() as Plain));
console.log(
  `base: ${base.split("\n").length} lines, ${base.split("---\n").length} documents; series: ${texts.length} patches`,
);

const check = patchConfig(base, loaded, { diff: false });
if (check.documents.length !== 1 + LINKS + 30) throw new Error("unexpected merge result");

const talos = measure("taloskit strategic merge (Talos semantics, comments kept)", () => {
  patchConfig(base, loaded, { diff: false });
});
const plain = measure("baseline: plain deep merge of parsed YAML", () => {
  plainMerge(base, plainPatches);
});
const withDiff = measure("taloskit strategic merge with structured + unified diff", () => {
  patchConfig(base, loaded);
});
console.log(`ratio taloskit/baseline: ${(talos / plain).toFixed(2)}x throughput`);
console.log(`ratio taloskit-with-diff/baseline: ${(withDiff / plain).toFixed(2)}x throughput`);
