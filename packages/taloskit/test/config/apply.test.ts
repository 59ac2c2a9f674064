// Patching live nodes over real mTLS against the cluster simulator: every apply mode,
// dry run, no-op, bad patches (node left byte-identical), roles, and the node's own refusals.
import { ApplyConfigurationRequest_Mode } from "@taloskit/api/machine";
import {
  PermissionDeniedError,
  RpcError,
  TalosClient,
  TalosError,
  UnimplementedError,
} from "@taloskit/client";
import { type ClusterSimulator, startCluster } from "@taloskit/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ConfigApplyError,
  type ConfigDiff,
  ConfigPatchError,
  confirmTryConfig,
  maskSecrets,
  patchConfig,
  patchMachineConfig,
  patchMachineConfigOnNodes,
  readMachineConfig,
  redactDiff,
} from "../../src/config/index.js";

let sim: ClusterSimulator;
let admin: TalosClient;
let reader: TalosClient;
const original = new Map<string, string>();

const CP = "10.5.0.2"; // Talos 1.14: every change applies live
const OLD = "10.5.0.3"; // Talos 1.13: some v1alpha1 fields need a reboot
const OTHER = "10.5.0.4";

beforeAll(async () => {
  sim = await startCluster({
    rebootDelayMs: 40,
    nodes: [
      { address: CP, role: "controlplane", version: "v1.14.0" },
      { address: OLD, role: "worker", version: "v1.13.2" },
      { address: OTHER, role: "worker", version: "v1.14.0" },
    ],
  });
  admin = TalosClient.connect(sim.clientOptions({ roles: ["os:admin"], nodes: [CP] }));
  reader = TalosClient.connect(sim.clientOptions({ roles: ["os:reader"], nodes: [CP] }));
  for (const n of sim.nodes) original.set(n.address, n.state.config);
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const n of sim.nodes) {
    n.state.config = original.get(n.address) as string;
    n.state.stagedConfig = undefined;
    n.touch();
  }
});

afterAll(async () => {
  admin?.close();
  reader?.close();
  await sim?.close();
});

// machine.certSANs applies live everywhere; machine.features.diskQuotaSupport needs a
// reboot on Talos 1.13 and older. Both are in the v1alpha1 schema of 1.13 and 1.14.
/** The calls a config change makes. */
const CONFIG_CALLS = [
  "machine.MachineService/Version",
  "cosi.resource.State/Get",
  "cosi.resource.State/List",
  "machine.MachineService/ApplyConfiguration",
];
/** Calls of one procedure, or of every procedure a config change makes, addressed to a node. */
const callsTo = (node: string, procedure?: string) =>
  (procedure ? [procedure] : CONFIG_CALLS).reduce((sum, p) => sum + sim.node(node).calls(p), 0);
const sans = (name: string) => `machine:\n  certSANs:\n    - ${name}\n`;
const quotaPatch = "machine:\n  features:\n    diskQuotaSupport: true\n";

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("patchMachineConfig modes", () => {
  it("no-reboot: shows the diff, applies live, and the MachineConfig resource and its watchers follow", async () => {
    const watch = admin.resources.watch("MachineConfigs.config.talos.dev", {
      node: CP,
      id: "v1alpha1",
      namespace: "config",
    });
    const first = await watch.next(); // bootstrap contents
    expect(first.value?.resource?.metadata.id).toBe("v1alpha1");

    const r = await patchMachineConfig(admin, {
      node: CP,
      patches: [sans("1024.example")],
      mode: "no-reboot",
    });
    expect(r).toMatchObject({
      node: CP,
      talosVersion: "v1.14.0",
      schemaVersion: "1.14",
      changed: true,
      applied: true,
      mode: "no-reboot",
      rebootRequired: false,
      rebooting: false,
      modeDetails: "Applied configuration without a reboot",
      warnings: [], // the simulator's config is valid for its version
    });
    expect(r.diff.unified).toMatch(/^--- current\n\+\+\+ patched\n@@ /);
    expect(r.diff.unified).toContain("+    - 1024.example");
    expect(r.diff.changes).toEqual([
      { document: "/v1alpha1", path: "machine.certSANs", op: "add", after: ["1024.example"] },
    ]);
    expect(sim.node(CP).state.config).toBe(r.config);

    const read = await readMachineConfig(admin, { node: CP });
    expect(read.text).toBe(r.config);
    let ev = await watch.next();
    while (ev.value?.type !== "updated") ev = await watch.next();
    expect((ev.value.resource?.raw.spec?.yamlSpec ?? "").includes("1024.example")).toBe(true);
    await watch.return(undefined);
  });

  it("auto on Talos 1.14 resolves to no-reboot, even for a v1alpha1 field older nodes reboot for", async () => {
    const r = await patchMachineConfig(admin, { node: CP, patches: [quotaPatch] });
    expect(r).toMatchObject({ requestedMode: "auto", mode: "no-reboot", rebootRequired: false });
    expect(sim.node(CP).state.config).toContain("diskQuotaSupport: true");
  });

  it("auto on Talos 1.13 applies a live field without a reboot", async () => {
    const boot = sim.node(OLD).state.bootId;
    const r = await patchMachineConfig(admin, { node: OLD, patches: [sans("2048.example")] });
    expect(r).toMatchObject({ mode: "no-reboot", rebootRequired: false, rebooting: false });
    expect(sim.node(OLD).state.config).toContain("2048.example");
    expect(sim.node(OLD).state.bootId).toBe(boot);
  });

  it("auto on Talos 1.13 reboots for machine.features.diskQuotaSupport and the node comes back with the config", async () => {
    const n = sim.node(OLD);
    const boot = n.state.bootId;
    const r = await patchMachineConfig(admin, { node: OLD, patches: [quotaPatch] });
    expect(r).toMatchObject({ mode: "reboot", rebootRequired: true, rebooting: true });
    expect(r.modeDetails).toMatch(
      /^Applied configuration with a reboot: this config change can't be applied in immediate mode\ndiff:\n {2}machine\.features/,
    );
    await until(() => n.state.bootId !== boot && !n.down);
    expect(n.state.config).toContain("diskQuotaSupport: true");
    expect(n.state.stagedConfig).toBeUndefined();
  });

  it("no-reboot and try refuse a change that needs a reboot, and the node keeps its config", async () => {
    for (const mode of ["no-reboot", "try"] as const) {
      const err = await patchMachineConfig(admin, { node: OLD, patches: [quotaPatch], mode }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigApplyError);
      expect(err).toMatchObject({ code: "CONFIG_NEEDS_REBOOT", node: OLD });
      expect((err as Error).message).toContain("can't be applied in immediate mode");
      expect((err as ConfigApplyError).cause).toBeInstanceOf(RpcError);
      expect(sim.node(OLD).state.config).toBe(original.get(OLD));
    }
  });

  it("staged: stores the config for the next reboot and reports that a reboot is needed", async () => {
    const n = sim.node(CP);
    const r = await patchMachineConfig(admin, {
      node: CP,
      patches: [sans("4096.example")],
      mode: "staged",
    });
    expect(r).toMatchObject({ mode: "staged", rebootRequired: true, rebooting: false });
    expect(r.modeDetails).toBe("Staged configuration to be applied after the next reboot");
    expect(n.state.config).toBe(original.get(CP));
    expect(n.state.stagedConfig).toBe(r.config);
    const boot = n.state.bootId;
    await admin.at(CP).machine.reboot({});
    await until(() => n.state.bootId !== boot && !n.down);
    expect(n.state.config).toBe(r.config);
  });

  it("try: applies, then rolls back after the timeout", async () => {
    const n = sim.node(CP);
    const r = await patchMachineConfig(admin, {
      node: CP,
      patches: [sans("8192.example")],
      mode: "try",
      tryTimeoutMs: 1_000, // long enough to see the config applied on a loaded machine
    });
    expect(r.mode).toBe("try");
    expect(r.modeDetails).toContain("automatically reverted back in 1s");
    expect(n.state.config).toBe(r.config);
    await until(() => n.state.config === original.get(CP));
    expect((await readMachineConfig(admin, { node: CP })).text).toBe(original.get(CP));
  });

  it("try: a confirmation (a later apply in another mode) keeps the config", async () => {
    const n = sim.node(CP);
    const r = await patchMachineConfig(admin, {
      node: CP,
      patches: [sans("16384.example")],
      mode: "try",
      tryTimeoutMs: 1_000, // long enough to confirm in time on a loaded machine
    });
    // The node (in this process) set its 1 s roll-back timer before it answered. Node runs
    // timers of the same length in the order they were set, so one of 1 s set now fires
    // after it: once it has, a roll-back still pending would have run.
    const rollbackDue = new Promise((res) => setTimeout(res, 1_000));
    await confirmTryConfig(admin, { node: CP });
    await rollbackDue;
    expect(n.state.config).toBe(r.config);
  });

  it("reboot mode on Talos 1.14 is Unimplemented, as on a real node", async () => {
    await expect(
      patchMachineConfig(admin, { node: CP, patches: [sans("1.example")], mode: "reboot" }),
    ).rejects.toBeInstanceOf(UnimplementedError);
    expect(sim.node(CP).state.config).toBe(original.get(CP));
  });
});

describe("dry run and no-op", () => {
  it("dry run: the node reports what it would do and its diff, and changes nothing", async () => {
    const before = await readMachineConfig(admin, { node: OLD });
    const r = await patchMachineConfig(admin, { node: OLD, patches: [quotaPatch], dryRun: true });
    expect(r).toMatchObject({
      dryRun: true,
      applied: true,
      mode: "reboot",
      rebootRequired: true,
      rebooting: false,
    });
    expect(r.modeDetails).toMatch(
      /^Dry run summary:\nApplied configuration with a reboot \(skipped in dry-run\)\.\nConfig diff:\n\n/,
    );
    expect(r.modeDetails).toContain("+    diskQuotaSupport: true");
    const after = await readMachineConfig(admin, { node: OLD });
    expect(after).toEqual(before);
    expect(sim.node(OLD).state.config).toBe(original.get(OLD));
  });

  it("a patch that changes nothing sends no ApplyConfiguration", async () => {
    const applies = callsTo(CP, "machine.MachineService/ApplyConfiguration");
    const r = await patchMachineConfig(admin, {
      node: CP,
      patches: ["machine:\n  type: controlplane\n"],
      mode: "no-reboot",
    });
    expect(r).toMatchObject({
      changed: false,
      applied: false,
      mode: undefined,
      modeDetails: "No changes.",
    });
    expect(r.diff.unified).toBe("");
    expect(callsTo(CP, "machine.MachineService/ApplyConfiguration")).toBe(applies);
  });
});

describe("bad patches leave the node byte-identical and send nothing", () => {
  const cases: [string, string, string, RegExp][] = [
    [
      "a kind the node's version does not know",
      "apiVersion: v1alpha1\nkind: NoSuchConfig\nname: x\n",
      "CONFIG_UNKNOWN_KIND",
      /unknown document type "NoSuchConfig".*Talos 1\.14/,
    ],
    [
      "bad YAML",
      "machine:\n  sysctls: [unclosed\n",
      "CONFIG_BAD_YAML",
      /patch 1: invalid YAML at line/,
    ],
    [
      "a delete of a missing path",
      "machine:\n  nodeLabels:\n    no.such/label:\n      $patch: delete\n",
      "CONFIG_DELETE_MISSING",
      /failed to delete path 'machine\.nodeLabels\.no\.such\/label' in document '\/v1alpha1': lookup failed/,
    ],
    [
      "JSON6902 on a multi-document config",
      '[{"op": "add", "path": "/machine/env", "value": {"A": "b"}}]',
      "CONFIG_JSONPATCH_MULTIDOC",
      /JSON6902 patches are not supported for multi-document machine configuration/,
    ],
    [
      "a patch that Talos's loader refuses (unknown field)",
      "machine:\n  nosuchfield: 1\n",
      "CONFIG_BAD_PATCH",
      /document '\/v1alpha1' path 'machine\.nosuchfield' \(additionalProperties\): unknown field "nosuchfield"/,
    ],
  ];
  for (const [what, patch, code, message] of cases) {
    it(what, async () => {
      const applies = callsTo(CP, "machine.MachineService/ApplyConfiguration");
      const version = (await readMachineConfig(admin, { node: CP })).version;
      const err = await patchMachineConfig(admin, {
        node: CP,
        patches: [patch],
        mode: "no-reboot",
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigPatchError);
      expect(err).toMatchObject({ code });
      expect((err as Error).message).toMatch(message);
      expect(callsTo(CP, "machine.MachineService/ApplyConfiguration")).toBe(applies);
      expect(sim.node(CP).state.config).toBe(original.get(CP));
      expect((await readMachineConfig(admin, { node: CP })).version).toBe(version);
    });
  }

  it("bad options are refused before any call", async () => {
    const before = callsTo(CP);
    await expect(
      patchMachineConfig(admin, { node: CP, patches: [sans("1.example")], tryTimeoutMs: 1000 }),
    ).rejects.toMatchObject({ code: "CONFIG_BAD_OPTION", message: /needs mode "try"/ });
    await expect(
      patchMachineConfig(admin, {
        node: CP,
        patches: [sans("1.example")],
        mode: "sideways" as never,
      }),
    ).rejects.toMatchObject({
      code: "CONFIG_BAD_OPTION",
      message: /unknown apply mode "sideways"/,
    });
    expect(callsTo(CP)).toBe(before);
  });
});

describe("the node's Talos version", () => {
  it("comes from what the client knows of the node", async () => {
    expect(await admin.nodeState(OLD).talosVersion()).toBe("v1.13.2");
    const versionCalls = callsTo(OLD, "machine.MachineService/Version");
    const r = await patchMachineConfig(admin, {
      node: OLD,
      patches: [sans("v.example")],
      dryRun: true,
    });
    expect(r.talosVersion).toBe("v1.13.2");
    expect(callsTo(OLD, "machine.MachineService/Version")).toBe(versionCalls);
  });

  it("a node that cannot be read fails the apply with a typed error, node untouched", async () => {
    const applies = callsTo(CP, "machine.MachineService/ApplyConfiguration");
    sim.faults.unreachable(CP, true);
    try {
      const err = await patchMachineConfig(admin, {
        node: CP,
        patches: [sans("v.example")],
        mode: "no-reboot",
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TalosError);
      expect(err).toMatchObject({ code: "UNAVAILABLE", node: CP });
    } finally {
      sim.faults.unreachable(CP, false);
    }
    expect(callsTo(CP, "machine.MachineService/ApplyConfiguration")).toBe(applies);
    expect(sim.node(CP).state.config).toBe(original.get(CP));
  });
});

describe("roles and the node's own checks", () => {
  it("a reader-role client cannot read or apply the config: PermissionDenied, node untouched", async () => {
    await expect(
      patchMachineConfig(reader, { node: CP, patches: [sans("1.example")] }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const data = new TextEncoder().encode(`${original.get(CP)}\n# changed\n`);
    const err = await reader
      .at(CP)
      .machine.applyConfiguration({ data, mode: ApplyConfigurationRequest_Mode.NO_REBOOT })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err).toMatchObject({ code: "PERMISSION_DENIED", node: CP });
    expect((err as Error).message).toContain("os:admin");
    expect(sim.node(CP).state.config).toBe(original.get(CP));
  });

  it("the node refuses an invalid config with InvalidArgument and keeps its own", async () => {
    const bad = [
      [
        original.get(CP)?.replace("type: controlplane", "type: boss") ?? "",
        /machine\.type "boss" is not valid/,
      ],
      ["apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: x\n", /has no v1alpha1 document/],
      [`${original.get(CP)}---\n: [\n`, /failed to decode config document/],
    ] as const;
    for (const [text, message] of bad) {
      const err = await admin
        .at(CP)
        .machine.applyConfiguration({
          data: new TextEncoder().encode(text),
          mode: ApplyConfigurationRequest_Mode.NO_REBOOT,
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ code: "INVALID_ARGUMENT" });
      expect((err as Error).message).toMatch(message);
      expect(sim.node(CP).state.config).toBe(original.get(CP));
    }
  });

  it("secret values are redacted in the diff unless asked for", async () => {
    const patch = "machine:\n  token: abcdef.0123456789abcdef\n";
    const hidden = await patchMachineConfig(admin, { node: CP, patches: [patch], dryRun: true });
    // the node already has a token: the new one shows as a change, and nothing of either
    expect(hidden.diff.unified).toContain("-  token: <redacted>\n+  token: <redacted, changed>");
    expect(hidden.diff.unified).not.toContain("simulated.token");
    expect(hidden.diff.unified).not.toContain("0123456789abcdef");
    expect(hidden.modeDetails).not.toContain("0123456789abcdef");
    expect(hidden.diff.changes[0]).toMatchObject({ path: "machine.token", after: "<redacted>" });
    const shown = await patchMachineConfig(admin, {
      node: CP,
      patches: [patch],
      dryRun: true,
      showSecrets: true,
    });
    expect(shown.diff.unified).toContain("+  token: abcdef.0123456789abcdef");
  });

  it("registry credentials, WireGuard keys and block-scalar PEM keys are redacted in the diff and the dry-run summary", async () => {
    const pem = [
      "-----BEGIN EC PRIVATE KEY-----",
      "MHcCAQEEIPEMSECRETLINEONEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaoAoGCCqGSM49",
      "AwEHoUQDQgAEPEMSECRETLINETWObbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
      "-----END EC PRIVATE KEY-----",
    ];
    const patch = [
      "apiVersion: v1alpha1",
      "kind: RegistryAuthConfig",
      "name: registry.example.com",
      "username: robot",
      "password: REGISTRY-PASSWORD-1",
      "auth: UkVHSVNUUlktQVVUSC0x",
      "identityToken: REGISTRY-IDENTITY-TOKEN-1",
      "---",
      "apiVersion: v1alpha1",
      "kind: WireguardConfig",
      "name: wg0",
      "privateKey: WIREGUARD-PRIVATE-KEY-1=",
      "listenPort: 51820",
      "---",
      "apiVersion: v1alpha1",
      "kind: RegistryTLSConfig",
      "name: registry.example.com",
      "clientIdentity:",
      "  key: |",
      ...pem.map((l) => `    ${l}`),
      "  cert: CLIENT-CERT-VISIBLE",
      "",
    ].join("\n");
    const secrets = [
      "REGISTRY-PASSWORD-1",
      "UkVHSVNUUlktQVVUSC0x",
      "REGISTRY-IDENTITY-TOKEN-1",
      "WIREGUARD-PRIVATE-KEY-1",
      "PEMSECRETLINEONE",
      "PEMSECRETLINETWO",
      "BEGIN EC PRIVATE KEY",
    ];
    const hidden = await patchMachineConfig(admin, { node: CP, patches: [patch], dryRun: true });
    expect(hidden.changed).toBe(true);
    for (const s of secrets) {
      expect(hidden.diff.unified).not.toContain(s);
      expect(hidden.modeDetails).not.toContain(s);
    }
    expect(hidden.diff.unified).toContain("+password: <redacted>");
    expect(hidden.diff.unified).toContain("+privateKey: <redacted>");
    expect(hidden.diff.unified).toContain("+  key: |\n+    <redacted>\n");
    // what follows the block is shown again
    expect(hidden.diff.unified).toContain("+username: robot");
    expect(hidden.diff.unified).toContain("+  cert: CLIENT-CERT-VISIBLE");
    expect(hidden.diff.unified).toContain("+listenPort: 51820");

    const shown = await patchMachineConfig(admin, {
      node: CP,
      patches: [patch],
      dryRun: true,
      showSecrets: true,
    });
    for (const s of secrets) expect(shown.diff.unified).toContain(s);
  });

  it("a changed line inside a block-scalar key is redacted when the key is context, on either side", () => {
    const base =
      "machine:\n  ca:\n    crt: CERT\n    key: |\n      OLDSECR1\n      SAMESEC2\n  type: worker\n";
    const merged = patchConfig(base, [
      "machine:\n  ca:\n    key: |\n      NEWSECR1\n      SAMESEC2\n",
    ]);
    const diff = redactDiff(merged.diff as ConfigDiff);
    for (const s of ["OLDSECR1", "NEWSECR1", "SAMESEC2"]) {
      expect(diff.unified).not.toContain(s);
    }
    expect(diff.unified).toContain(
      "     key: |\n-      <redacted>\n+      <redacted>\n       <redacted>\n   type: worker",
    );
  });

  it("a changed line deep inside a block-scalar PEM key shows nothing of the key, in the diff or the node's summary", async () => {
    const pem = [
      "-----BEGIN RSA PRIVATE KEY-----",
      ...Array.from(
        { length: 14 },
        (_, i) => `DEEPPEMLINE${String(i).padStart(2, "0")}${"q".repeat(48)}`,
      ),
      "-----END RSA PRIVATE KEY-----",
    ];
    const tls = (lines: string[]) =>
      [
        "apiVersion: v1alpha1",
        "kind: RegistryTLSConfig",
        "name: registry.example.com",
        "clientIdentity:",
        "  cert: CLIENT-CERT-VISIBLE",
        "  key: |",
        ...lines.map((l) => `    ${l}`),
        "",
      ].join("\n");
    await patchMachineConfig(admin, { node: CP, patches: [tls(pem)], mode: "no-reboot" });
    // line 10 of the block: far outside the 3 lines of context below `key: |`
    const changedPem = pem.map((l, i) => (i === 10 ? `ROTATEDPEMLINE${"r".repeat(48)}` : l));
    const hidden = await patchMachineConfig(admin, {
      node: CP,
      patches: [tls(changedPem)],
      dryRun: true,
    });
    expect(hidden.changed).toBe(true);
    for (const text of [hidden.diff.unified, hidden.modeDetails]) {
      for (const s of ["DEEPPEMLINE", "ROTATEDPEMLINE", "qqqqqqqq", "rrrrrrrr", "PRIVATE KEY"]) {
        expect(text).not.toContain(s);
      }
    }
    expect(hidden.diff.unified).toContain("   key: |\n-    <redacted>\n+    <redacted, changed>\n");
    expect(hidden.modeDetails).toContain("<redacted>");
    expect(JSON.stringify(hidden.diff.changes)).not.toContain("PEMLINE");

    const shown = await patchMachineConfig(admin, {
      node: CP,
      patches: [tls(changedPem)],
      dryRun: true,
      showSecrets: true,
    });
    expect(shown.diff.unified).toContain(`-    ${pem[10]}\n+    ${changedPem[10]}`);
    expect(shown.modeDetails).toContain(`+    ${changedPem[10]}`);
  });

  it("an unchanged secret next to a changed ordinary field shows no value, and no change", async () => {
    const hidden = await patchMachineConfig(admin, {
      node: CP,
      patches: ["debug: true\n"],
      dryRun: true,
    });
    expect(hidden.diff.unified).toContain("-debug: false\n+debug: true\n");
    expect(hidden.diff.unified).toContain("\n   token: <redacted>\n");
    expect(hidden.diff.unified).not.toContain("<redacted, changed>");
    expect(hidden.diff.unified).not.toContain("simulated.token");
    expect(hidden.modeDetails).not.toContain("simulated.token");
    const shown = await patchMachineConfig(admin, {
      node: CP,
      patches: ["debug: true\n"],
      dryRun: true,
      showSecrets: true,
    });
    expect(shown.diff.unified).toContain("\n   token: simulated.token0000000000\n");
  });

  it("secrets are masked in both configs before the diff: inline, quoted, folded, in lists, and under aliases", () => {
    // lines of equal length, so the key block is valid base64 as Talos requires
    const pem = Array.from(
      { length: 12 },
      (_, i) => `      SECRETPEM${String(i).padStart(2, "0")}`,
    );
    const base = [
      "version: v1alpha1",
      "machine:",
      "  type: worker",
      '  token: "quoted.secret.one"',
      "  ca:",
      "    crt: CERT-VISIBLE",
      "    key: |",
      ...pem,
      "  registries:",
      "    config:",
      "      registry.example.com:",
      "        auth:",
      "          username: robot",
      "          password: 'SINGLE-QUOTED-PW'",
      "cluster:",
      "  secretboxEncryptionSecret: >-",
      "    FOLDED-SECRET-A",
      "    FOLDED-SECRET-B",
      "  extraManifests:",
      "    - https://example.com/a.yaml",
      "",
    ].join("\n");
    const merged = patchConfig(base, [
      [
        "machine:",
        "  type: controlplane",
        "  ca:",
        "    key: |",
        // same length as the line it replaces, so the key stays valid base64
        ...pem.map((l, i) => (i === 9 ? "      NEWSECRET09" : l)),
        "  registries:",
        "    config:",
        "      registry.example.com:",
        "        auth:",
        "          password: NEW-PW",
        "",
      ].join("\n"),
    ]);
    const raw = merged.diff as ConfigDiff;
    const diff = redactDiff(raw, { before: base, after: merged.text });
    for (const s of [
      "SECRETPEM",
      "NEWSECRET",
      "quoted.secret.one",
      "SINGLE-QUOTED-PW",
      "NEW-PW",
      "FOLDED-SECRET",
    ]) {
      expect(diff.unified).not.toContain(s);
    }
    expect(diff.unified).toContain("-  type: worker\n+  type: controlplane\n");
    expect(diff.unified).toContain("   token: <redacted>\n");
    expect(diff.unified).toContain("     key: |\n-      <redacted>\n+      <redacted, changed>\n");
    expect(diff.unified).toContain("           username: robot\n");
    expect(diff.unified).toContain(
      "-          password: <redacted>\n+          password: <redacted, changed>\n",
    );
    expect(diff.changes).toContainEqual({
      document: "/v1alpha1",
      path: "machine.registries.config.registry.example.com.auth.password",
      op: "replace",
      before: "<redacted>",
      after: "<redacted>",
    });
    // an unchanged folded secret and added list items: nothing of the secret, no change
    const more = patchConfig(base, [
      "cluster:\n  extraManifests:\n    - https://example.com/b.yaml\n",
    ]);
    const quiet = redactDiff(more.diff as ConfigDiff, { before: base, after: more.text });
    expect(quiet.unified).toContain(
      "@@ -17,3 +17,4 @@\n     <redacted>\n   extraManifests:\n     - https://example.com/a.yaml\n+    - https://example.com/b.yaml\n",
    );
    expect(quiet.unified).not.toContain("FOLDED-SECRET");
    expect(quiet.unified).not.toContain("changed");
    // a secret behind an alias is masked where its anchor is
    const aliased = "machine:\n  a: &s ANCHORED-SECRET\n  token: *s\n  type: worker\n";
    const m = maskSecrets(aliased, aliased.replace("worker", "controlplane"));
    expect(m.before).not.toContain("ANCHORED-SECRET");
    expect(m.after).not.toContain("ANCHORED-SECRET");
  });

  it("makes the unified diff once: redactDiff with the texts never reads the raw one", () => {
    const base = "machine:\n  type: worker\n";
    const merged = patchConfig(base, ["machine:\n  type: controlplane\n"]);
    const raw = merged.diff as ConfigDiff;
    const untouched: ConfigDiff = {
      changes: raw.changes,
      addedDocuments: raw.addedDocuments,
      removedDocuments: raw.removedDocuments,
      get unified(): string {
        throw new Error("the raw unified diff was computed");
      },
    };
    const diff = redactDiff(untouched, { before: base, after: merged.text });
    expect(diff.unified).toBe(
      "--- current\n+++ patched\n@@ -1,2 +1,2 @@\n machine:\n-  type: worker\n+  type: controlplane\n",
    );
    expect(raw.unified).toBe(diff.unified);
  });
});

describe("patchMachineConfigOnNodes", () => {
  it("patches several nodes, one result per node, and reports a failing node without stopping the others", async () => {
    const results = await patchMachineConfigOnNodes(admin, [CP, OTHER, "10.5.0.99"], {
      patches: [sans("512.example")],
      mode: "no-reboot",
    });
    expect(results.map((r) => r.node)).toEqual([CP, OTHER, "10.5.0.99"]);
    const [cp, other, missing] = results.map((r) =>
      "value" in r ? { value: r.value } : { error: r.error },
    );
    expect(cp?.value?.mode).toBe("no-reboot");
    expect(other?.value?.changed).toBe(true);
    expect(missing?.error?.message).toMatch(/10\.5\.0\.99/);
    expect(sim.node(CP).state.config).toContain("512.example");
    expect(sim.node(OTHER).state.config).toContain("512.example");
  });

  it("fans out through client.onNodes (4 at a time by default); a node refusing in the middle gets a typed TalosError", async () => {
    // Talos 1.13 (OLD) cannot apply the quota change without a reboot; 1.14 can.
    const results = await patchMachineConfigOnNodes(admin, [CP, OLD, OTHER], {
      patches: [quotaPatch],
      mode: "no-reboot",
    });
    expect(results.map((r) => r.node)).toEqual([CP, OLD, OTHER]);
    const [cp, old, other] = results;
    expect(cp && "value" in cp ? cp.value.mode : undefined).toBe("no-reboot");
    expect(other && "value" in other ? other.value.changed : undefined).toBe(true);
    const err = old && "error" in old ? old.error : undefined;
    expect(err).toBeInstanceOf(TalosError);
    expect(err).toBeInstanceOf(ConfigApplyError);
    expect(err).toMatchObject({ code: "CONFIG_NEEDS_REBOOT", node: OLD });
    expect(err?.cause).toBeInstanceOf(RpcError);
    expect(sim.node(CP).state.config).toContain("diskQuotaSupport: true");
    expect(sim.node(OTHER).state.config).toContain("diskQuotaSupport: true");
    expect(sim.node(OLD).state.config).toBe(original.get(OLD));
  });

  it("a bad patch throws before any node is contacted", async () => {
    const before = callsTo(CP) + callsTo(OTHER);
    await expect(
      patchMachineConfigOnNodes(admin, [CP, OTHER], { patches: ["a: [\n"] }),
    ).rejects.toMatchObject({ code: "CONFIG_BAD_YAML" });
    expect(callsTo(CP) + callsTo(OTHER)).toBe(before);
  });
});
