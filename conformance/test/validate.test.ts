// Differential test of config validation: taloskit's verdict on a config must be the one
// Talos's own config loader and Validate give (the machinery oracles, one per minor).
// (a) generated configs of every version and role, mutated by fast-check; (b) the
// real-world configs and patches in ../shared.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import fc from "fast-check";
import { validateConfig } from "taloskit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as YamlLib from "../../packages/taloskit/node_modules/yaml/dist/index.js";
import { closeOracles, machinery, ORACLE_VERSIONS, type OracleVersion } from "../oracles.js";
import { RUNS, SEED_PARAMETERS } from "./settings.js";

// yaml is a dependency of the taloskit package, not of the repository root.
const { isMap, parseAllDocuments, parseDocument, stringify } = createRequire(
  new URL("../../packages/taloskit/package.json", import.meta.url),
)("yaml") as typeof YamlLib;

afterAll(closeOracles);

const root = new URL("../..", import.meta.url).pathname;

function ours(
  text: string,
  v: string,
  partial = false,
): { ok: boolean; why: string; paths: string[] } {
  try {
    const r = validateConfig(text, v, { partial });
    return {
      ok: r.valid,
      why: r.issues.map((i) => `${i.document} ${i.path}: ${i.message}`).join("; "),
      paths: r.issues.map((i) => i.path),
    };
  } catch (err) {
    return { ok: false, why: (err as Error).message, paths: [] };
  }
}

/**
 * The fields a Talos error names: the keys of its "unknown keys" tree, and dotted
 * paths such as `.machine.ca` or `.cluster.discovery` in its sentences.
 */
function namedFields(error: string, text?: string): string[] {
  const out: string[] = [];
  const tree = /unknown keys found during decoding:\n((?:[ \t]*[^\n]*\n?)*)/.exec(error);
  if (tree) {
    const stack: { indent: number; key: string }[] = [];
    for (const line of (tree[1] ?? "").split("\n")) {
      const m = /^(\s*)(?:- )?([^:\s][^:]*):(.*)$/.exec(line);
      if (!m) continue;
      const indent = (m[1] ?? "").length;
      while (stack.length && (stack.at(-1) as { indent: number }).indent >= indent) stack.pop();
      stack.push({ indent, key: (m[2] ?? "").trim() });
      if ((m[3] ?? "").trim() !== "") out.push(stack.map((s) => s.key).join("."));
    }
  }
  // a sentence may name a path that is not in the config (Talos once wrote
  // `.machine.cluster.proxy` for `.cluster.proxy`): keep those that are there, or whose
  // parent is (a required field that is missing)
  const docs = text === undefined ? [] : parseAllDocuments(text);
  const there = (path: string[]) =>
    text === undefined || path.length === 0 || docs.some((d) => d.hasIn(path));
  for (const m of error.matchAll(
    /(?:^|[\s(,])\.?((?:machine|cluster)(?:\.[A-Za-z][A-Za-z0-9]*)+|persist)\b/g,
  )) {
    const path = (m[1] as string).split(".");
    if (there(path) || there(path.slice(0, -1))) out.push(m[1] as string);
  }
  return [...new Set(out)];
}

/**
 * True when one of our issue paths is on the branch of a field Talos names: the same
 * field, under it, or (Talos prints an unknown key with the values below it) above it.
 */
function samePlace(talosError: string, text: string, paths: readonly string[]): boolean {
  const named = namedFields(talosError, text);
  if (named.length === 0) return true;
  return paths.some((p) =>
    named.some((n) => p === n || p.startsWith(`${n}.`) || n.startsWith(`${p}.`)),
  );
}

// Raw YAML values: coercible scalars, wrong types, out-of-range numbers, durations.
const VALUES = [
  "1",
  "130",
  "0",
  "-1",
  '"1"',
  "'130'",
  "true",
  "false",
  "on",
  "off",
  "yes",
  "no",
  "Y",
  '"yes"',
  "abc",
  "4294967296",
  "70000",
  "0x10",
  "1.5",
  "2.0",
  "10s",
  "null",
  "{a: 1}",
  "[1, 2]",
  "[]",
  "{}",
  '""',
  "[abc]",
  "{a: b}",
  "udp://127.0.0.1:5000",
  "65536",
  "-129",
];

// Places to write into: deprecated fields, string maps, bools, ints, lists.
const PATHS: string[][] = [
  ["persist"],
  ["machine", "sysctls", "net.core.bpf_jit_harden"],
  ["machine", "sysctls", "vm.swappiness"],
  ["machine", "kubelet", "extraArgs", "rotate-server-certificates"],
  ["machine", "kubelet", "registerWithFQDN"],
  ["machine", "kubelet", "defaultRuntimeSeccompProfileEnabled"],
  ["machine", "kubelet", "disableManifestsDirectory"],
  ["machine", "features", "rbac"],
  ["machine", "features", "stableHostname"],
  ["machine", "features", "diskQuotaSupport"],
  ["machine", "features", "apidCheckExtKeyUsage"],
  ["machine", "features", "kubePrism", "port"],
  ["machine", "features", "kubePrism", "enabled"],
  ["machine", "install", "wipe"],
  ["machine", "install", "extraKernelArgs"],
  ["machine", "install", "bootloader"],
  ["machine", "time", "disabled"],
  ["machine", "time", "bootTimeout"],
  ["machine", "env", "HTTP_PROXY"],
  ["machine", "network", "disableSearchDomain"],
  ["machine", "network", "kubespan", "enabled"],
  ["machine", "network", "kubespan", "mtu"],
  ["machine", "logging", "destinations"],
  ["machine", "registries", "mirrors", "docker.io", "endpoints"],
  ["machine", "registries", "mirrors", "docker.io", "skipFallback"],
  ["machine", "kernel", "modules"],
  ["cluster", "proxy", "disabled"],
  ["cluster", "discovery", "enabled"],
  ["cluster", "etcd", "extraArgs", "election-timeout"],
  ["cluster", "apiServer", "extraArgs", "feature-gates"],
  ["cluster", "controlPlane", "localAPIServerPort"],
  ["cluster", "allowSchedulingOnControlPlanes"],
  ["cluster", "apiServer", "disablePodSecurityPolicy"],
];

// Whole values that Talos accepts for some of the places (documents' fields in valid form).
const GOOD: [string[], string][] = [
  [
    ["machine", "logging", "destinations"],
    "[{endpoint: 'udp://127.0.0.1:5514/', format: json_lines}]",
  ],
  [["machine", "kernel", "modules"], "[{name: br_netfilter}]"],
  [
    ["machine", "registries", "mirrors"],
    "{docker.io: {endpoints: ['https://mirror.example.com']}}",
  ],
  [["machine", "network", "hostname"], "node-1"],
  [["machine", "network", "nameservers"], "['1.1.1.1']"],
  [["machine", "time", "servers"], "['time.cloudflare.com']"],
  [["machine", "install", "extraKernelArgs"], "['console=ttyS0']"],
  [["machine", "disks"], "[{device: /dev/sdb, partitions: [{mountpoint: /var/mnt/extra}]}]"],
  [["persist"], "true"],
];

const STRUCTS: string[][] = [
  [],
  ["machine"],
  ["machine", "kubelet"],
  ["machine", "install"],
  ["cluster"],
  ["cluster", "network"],
];

const EXTRA_DOCS = [
  "apiVersion: v1alpha1\nkind: KmsgLogConfig\nname: remote\nurl: udp://127.0.0.1:5000/\n",
  "apiVersion: v1alpha1\nkind: KmsgLogConfig\nname: remote\nurl: [1]\n",
  "apiVersion: v1alpha1\nkind: NoSuchConfig\nname: x\n",
  "apiVersion: v1alpha2\nkind: KmsgLogConfig\nname: other\nurl: udp://127.0.0.1:5000/\n",
  "apiVersion: v1alpha1\nkind: WatchdogTimerConfig\ndevice: /dev/watchdog0\ntimeout: 2m\n",
  "apiVersion: v1alpha1\nkind: WatchdogTimerConfig\ndevice: /dev/watchdog0\ntimeout: 120\n",
  "apiVersion: v1alpha1\nkind: UnattendedInstallConfig\n",
  "apiVersion: v1alpha1\nkind: ImageVerificationConfig\n",
  "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: node-1\nauto: off\n",
  "apiVersion: v1alpha1\nkind: SysctlConfig\nsysctls:\n  vm.swappiness: 130\n",
  "apiVersion: v1alpha1\nkind: KubeletConfig\nextraArgs:\n  rotate-server-certificates: true\n",
  "kind: KmsgLogConfig\nname: x\n",
  "apiVersion: v1alpha1\nname: x\n",
];

type Mutation =
  | { op: "set"; path: string[]; value: string }
  | { op: "unknown"; path: string[]; key: string }
  | { op: "doc"; text: string }
  | { op: "dup" };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("set" as const),
      path: fc.constantFrom(...PATHS),
      value: fc.constantFrom(...VALUES),
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(...GOOD)
      .map(([path, value]) => ({ op: "set" as const, path, value })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("unknown" as const),
      path: fc.constantFrom(...STRUCTS),
      key: fc.constantFrom("nosuchfield", "Machine", "extra"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("doc" as const), text: fc.constantFrom(...EXTRA_DOCS) }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "dup" as const }) },
);

function apply(base: string, muts: readonly Mutation[]): string {
  const [first, ...rest] = base.split(/^---\n/m);
  const doc = parseDocument(first ?? "");
  const docs = [...rest];
  for (const m of muts) {
    if (m.op === "set") {
      const value = parseDocument(m.value).contents;
      try {
        doc.setIn(m.path, value);
      } catch {}
    } else if (m.op === "unknown") {
      const target = m.path.length ? doc.getIn(m.path) : doc.contents;
      if (isMap(target)) target.set(m.key, 1);
    } else if (m.op === "doc") docs.push(m.text);
    else docs.push(docs[0] ?? first ?? "");
  }
  return [stringify(doc).trimEnd(), ...docs.map((d) => d.trimEnd())].join("\n---\n");
}

interface Case {
  v: OracleVersion;
  role: "controlplane" | "worker";
  muts: Mutation[];
}

const generated = new Map<string, string>();

beforeAll(async () => {
  for (const v of ORACLE_VERSIONS)
    for (const role of ["controlplane", "worker"] as const) {
      const r = await machinery(v).generate(role);
      generated.set(`${v}/${role}`, r.config ?? "");
    }
});

async function verdicts(c: Case) {
  const text = apply(generated.get(`${c.v}/${c.role}`) ?? "", c.muts);
  const talos = await machinery(c.v).validate(text);
  const mine = ours(text, c.v);
  const placed = talos.ok || mine.ok || samePlace(talos.error ?? "", text, mine.paths);
  return { text, talos, mine, same: talos.ok === mine.ok && placed };
}

/** Drops mutations one at a time while the verdicts still differ. */
async function minimal(c: Case): Promise<Case> {
  let cur = c;
  for (let i = cur.muts.length - 1; i >= 0; i--) {
    const next = { ...cur, muts: cur.muts.filter((_, j) => j !== i) };
    if (!(await verdicts(next)).same) cur = next;
  }
  return cur;
}

describe("config validation agrees with Talos", () => {
  it("the model is in sync with the oracles", () => {
    execFileSync("npx", ["tsx", "scripts/gen-config-model.ts", "--check"], {
      cwd: root,
      stdio: "inherit",
    });
  });

  it(`mutated generated configs (${RUNS} cases over ${ORACLE_VERSIONS.length} versions)`, async () => {
    const cases = fc.sample(
      fc.record({
        v: fc.constantFrom(...ORACLE_VERSIONS),
        role: fc.constantFrom("controlplane" as const, "worker" as const),
        muts: fc.array(mutation, { minLength: 1, maxLength: 3 }),
      }),
      { numRuns: RUNS, ...SEED_PARAMETERS },
    );
    const diffs: string[] = [];
    const seen = new Set<string>();
    let accepted = 0;
    for (let i = 0; i < cases.length; i += 200) {
      const batch = cases.slice(i, i + 200);
      const results = await Promise.all(batch.map(verdicts));
      for (const [j, r] of results.entries()) {
        if (r.talos.ok) accepted++;
        if (r.same) continue;
        const small = await minimal(batch[j] as Case);
        const key = JSON.stringify({ v: small.v, m: small.muts });
        if (seen.has(key)) continue;
        seen.add(key);
        const again = await verdicts(small);
        diffs.push(
          `Talos ${small.v} ${small.role} ${JSON.stringify(small.muts)}: Talos ${again.talos.ok ? "accepts" : `rejects (${again.talos.stage}: ${again.talos.error})`}, taloskit ${again.mine.ok ? "accepts" : `rejects (${again.mine.why})`}${again.talos.ok === again.mine.ok ? ` [Talos names ${namedFields(again.talos.error ?? "", again.text).join(", ")}]` : ""}`,
        );
      }
    }
    console.log(
      `config validation: ${cases.length} cases, ${accepted} accepted by Talos, ${diffs.length} distinct differences`,
    );
    expect(accepted).toBeGreaterThan(cases.length / 10);
    expect(accepted).toBeLessThan(cases.length);
    expect(diffs, diffs.join("\n")).toEqual([]);
  });
});

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function versionOf(text: string, path: string): OracleVersion {
  const m =
    /(?:talos|v)[-_ ]?1\.(1[0-4])/i.exec(path) ?? /installer[^:\n]*:v1\.(1[0-4])/.exec(text);
  return (m ? `1.${m[1]}` : "1.14") as OracleVersion;
}

describe("real-world configs and patches get Talos's verdict", () => {
  const shared = join(root, "..", "shared");
  const files = [...filesUnder(join(shared, "realworld")), ...filesUnder(join(shared, "homelabs"))];

  it(`every file (${files.length})`, async () => {
    const diffs: string[] = [];
    let configs = 0;
    let patches = 0;
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const isConfig = /^(version: v1alpha1|machine:)/m.test(text) && /^cluster:/m.test(text);
      const v = versionOf(text, file);
      if (isConfig) {
        configs++;
        const talos = await machinery(v).validate(text);
        const mine = ours(text, v);
        if (talos.ok !== mine.ok)
          diffs.push(
            `${file} (${v}): Talos ${talos.ok ? "accepts" : `rejects (${talos.error})`}, taloskit ${mine.ok ? "accepts" : `rejects (${mine.why})`}`,
          );
        continue;
      }
      patches++;
      const base = generated.get(`${v}/controlplane`) ?? "";
      const patched = await machinery(v).patch(base, [text]);
      if (!patched.ok) continue; // not a patch Talos can load (e.g. a JSON patch of another shape)
      const talos = await machinery(v).validate(patched.config ?? "");
      // A strategic patch decodes with Talos's loader; JSON6902 patches are not config documents.
      if (/^\s*-\s*op:/m.test(text) && !/^\s*(apiVersion|machine|cluster):/m.test(text)) continue;
      const mine = ours(text, v, true);
      if (talos.ok && !mine.ok)
        diffs.push(
          `${file} (${v}, patch): Talos accepts it applied, taloskit rejects (${mine.why})`,
        );
    }
    console.log(`real-world: ${configs} configs, ${patches} patches, ${diffs.length} differences`);
    expect(diffs, diffs.join("\n")).toEqual([]);
  });
});
