// One error hierarchy: every error taloskit throws is a TalosError of the client, with
// its own stable code, the node where one applies and the cause; the client's
// fan-out passes them through unchanged.
import { RpcError, runOnNodes, TalosError } from "@taloskit/client";
import { describe, expect, it } from "vitest";
import { ConfigApplyError, ConfigPatchError } from "../src/config/index.js";
import { InventoryParseError, inventoryFromJson } from "../src/hardware/inventory.js";
import { parseRules, RuleError } from "../src/hardware/rules.js";
import { KubeApiError, KubeClient, KubernetesError } from "../src/kubernetes/index.js";
import { UpgradeError } from "../src/upgrade/errors.js";
import { UpgradeRunError } from "../src/upgrade/rolling.js";

const NODE = "10.5.0.7";

describe("taloskit errors are TalosErrors", () => {
  it("ConfigPatchError and ConfigApplyError keep their code, node, place and cause", () => {
    const cause = new RpcError("INVALID_ARGUMENT", "refused", { node: NODE });
    const patch = new ConfigPatchError("CONFIG_BAD_PATCH", "bad patch", {
      node: NODE,
      document: "/v1alpha1",
      path: "machine.network",
      issues: [{ document: "/v1alpha1", path: "machine.network", rule: "type", message: "m" }],
    });
    const apply = new ConfigApplyError("CONFIG_REJECTED", "node refused", { node: NODE, cause });
    for (const err of [patch, apply]) {
      expect(err).toBeInstanceOf(TalosError);
      expect(err).toBeInstanceOf(ConfigPatchError);
      expect(err).toBeInstanceOf(Error);
      expect(err.node).toBe(NODE);
    }
    expect(patch).toMatchObject({
      name: "ConfigPatchError",
      code: "CONFIG_BAD_PATCH",
      message: "bad patch",
      document: "/v1alpha1",
      path: "machine.network",
    });
    expect(patch.issues).toHaveLength(1);
    expect(apply).toMatchObject({ name: "ConfigApplyError", code: "CONFIG_REJECTED" });
    expect(apply.cause).toBe(cause);
    expect(apply.issues).toEqual([]);
    // Without a node, a config error says so.
    expect(new ConfigPatchError("CONFIG_BAD_YAML", "x").node).toBeUndefined();
  });

  it("UpgradeError and UpgradeRunError keep their code, node, step, version and cause", () => {
    const cause = new Error("installer exited 1");
    const err = new UpgradeError("UPGRADE_INSTALL_FAILED", "install failed", {
      node: NODE,
      step: "install",
      version: "v1.14.1",
      cause,
    });
    expect(err).toBeInstanceOf(TalosError);
    expect(err).toMatchObject({
      name: "UpgradeError",
      code: "UPGRADE_INSTALL_FAILED",
      node: NODE,
      step: "install",
      version: "v1.14.1",
      message: "install failed",
    });
    expect(err.cause).toBe(cause);
    const summary = { target: "v1.14.1", ok: false, dryRun: false, nodes: [], durationMs: 1 };
    const run = new UpgradeRunError(err, summary);
    expect(run).toBeInstanceOf(TalosError);
    expect(run).toBeInstanceOf(UpgradeError);
    expect(run).toMatchObject({ code: "UPGRADE_INSTALL_FAILED", node: NODE, step: "install" });
    expect(run.cause).toBe(err);
    expect(run.summary).toBe(summary);
  });

  it("InventoryParseError keeps its code, format, line and message, and takes a node", () => {
    const err = new InventoryParseError("lspci", "unterminated quoted field", 3, { node: NODE });
    expect(err).toBeInstanceOf(TalosError);
    expect(err).toMatchObject({
      name: "InventoryParseError",
      code: "INVENTORY_PARSE_ERROR",
      node: NODE,
      format: "lspci",
      line: 3,
      message: "lspci: line 3: unterminated quoted field",
    });
    let thrown: unknown;
    try {
      inventoryFromJson("{");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TalosError);
    expect(thrown).toMatchObject({ code: "INVENTORY_PARSE_ERROR", node: undefined });
  });

  it("RuleError and KubeApiError have their own stable codes", () => {
    expect(() => parseRules("nope")).toThrow(TalosError);
    expect(() => parseRules("nope")).toThrow(
      expect.objectContaining({ name: "RuleError", code: "HARDWARE_RULE_INVALID" }),
    );
    const rule = new RuleError("rule 0: when: invalid");
    expect(rule).toBeInstanceOf(TalosError);
    const kube = new KubeApiError(404, "GET /api/v1/nodes/x: HTTP 404: not found");
    expect(kube).toBeInstanceOf(TalosError);
    expect(kube).toMatchObject({ name: "KubeApiError", code: "KUBE_API_ERROR", status: 404 });
    expect(kube).toBeInstanceOf(KubernetesError);
  });

  it("the Kubernetes client refuses bad settings with a KubernetesError naming the value", () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => new KubeClient({ server: "http://10.5.0.2:6443" }),
        /http:\/\/10.5.0.2:6443 is not an https URL/,
      ],
      [() => new KubeClient({ server: "10.5.0.2" }), /Kubernetes server "10.5.0.2" is not a URL/],
      [() => KubeClient.fromKubeconfig("clusters: ["), /the kubeconfig is not valid YAML/],
      [() => KubeClient.fromKubeconfig("clusters: []"), /invalid kubeconfig: clusters: /],
    ];
    for (const [make, message] of cases) {
      let thrown: unknown;
      try {
        make();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(KubernetesError);
      expect(thrown).toBeInstanceOf(TalosError);
      expect(thrown).toMatchObject({ code: "KUBERNETES_INVALID_ARGUMENT" });
      expect((thrown as Error).message).toMatch(message);
    }
  });
});

describe("the client passes taloskit errors through", () => {
  const errors = () => [
    new ConfigApplyError("CONFIG_NEEDS_REBOOT", "needs a reboot", { node: NODE }),
    new UpgradeError("UPGRADE_NODE_NOT_READY", "not ready", { node: NODE, step: "wait" }),
    new InventoryParseError("nfd", "item 0 has no metadata.labels"),
  ];

  it("the fan-out returns them unchanged, also when wrapped as a cause", async () => {
    for (const err of errors()) {
      // connect-es wraps errors thrown inside a call (a ConnectError whose cause is
      // ours): the client walks the cause chain back to it.
      const wrapped = new Error("wrapped", { cause: new Error("inner", { cause: err }) });
      const [plain, unwrapped] = await runOnNodes(["a", "b"], async (node) => {
        throw node === "a" ? err : wrapped;
      });
      expect(plain && "error" in plain ? plain.error : undefined).toBe(err);
      expect(unwrapped && "error" in unwrapped ? unwrapped.error : undefined).toBe(err);
    }
  });

  it("runOnNodes reports them per node, unchanged, with the node filled in when missing", async () => {
    const [apply, upgrade, parse] = errors();
    const thrown = new Map<string, Error | undefined>([
      ["a", undefined],
      ["b", apply],
      ["c", parse],
      ["d", upgrade],
    ]);
    const results = await runOnNodes([...thrown.keys()], async (node) => {
      const err = thrown.get(node);
      if (err) throw err;
      return node.toUpperCase();
    });
    expect(results.map((r) => r.node)).toEqual(["a", "b", "c", "d"]);
    expect(results[0]).toEqual({ node: "a", value: "A" });
    const [, b, c, d] = results.map((r) => ("error" in r ? r.error : undefined));
    expect(b).toBe(apply);
    expect(b).toMatchObject({ code: "CONFIG_NEEDS_REBOOT", node: NODE });
    expect(c).toBe(parse);
    expect(c).toMatchObject({ code: "INVENTORY_PARSE_ERROR", node: "c" });
    expect(d).toBe(upgrade);
    expect(d).toMatchObject({ code: "UPGRADE_NODE_NOT_READY", node: NODE, step: "wait" });
  });
});
