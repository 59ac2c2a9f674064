// Upgrading one node, top to bottom: read it (unless the caller did), choose
// the method by its version, install and reboot (install.ts), follow it back
// (reboot-watch.ts), check that it runs the version and schematic installed,
// on the platform and secure boot state it had, with a new boot ID, then run
// the caller's afterReboot hook (the Kubernetes node's readiness in a rolling
// upgrade). Nothing more is done to a node after a step fails.
import type { TalosClient } from "@taloskit/client";
import { atLeastMinor, compareVersions, messageOf, tryParseTalosVersion } from "@taloskit/core";
import { UpgradeError, withPendingInstall } from "./errors.js";
import type { UpgradeMethod } from "./events.js";
import { type NodeFacts, readNodeFacts } from "./inspect.js";
import { installWithLegacyUpgrade, installWithLifecycle } from "./install.js";
import {
  guarded,
  hookSignal,
  type NodeRun,
  nodeRun,
  stepError,
  type UpgradeNodeOptions,
} from "./node-run.js";
import { type EventWatch, waitForReboot } from "./reboot-watch.js";

export type {
  InstallTarget,
  NodeUpgradeTimeouts,
  UpgradeNodeOptions,
} from "./node-run.js";

/** The outcome of a node upgrade. */
export interface NodeUpgradeResult {
  node: string;
  from: string;
  version: string;
  schematic: string;
  bootId: string | undefined;
  method: UpgradeMethod;
  durationMs: number;
}

/** Chooses the upgrade method for a node version. */
export function methodFor(version: string, requested: UpgradeNodeOptions["method"]): UpgradeMethod {
  if (requested === "lifecycle" || requested === "legacy") return requested;
  return tryParseTalosVersion(version) && atLeastMinor(version, "1.13") ? "lifecycle" : "legacy";
}

/** Upgrades one node to `target` and waits until it runs it. Throws UpgradeError. */
export async function upgradeNode(
  client: TalosClient,
  node: string,
  target: NodeRun["target"],
  options: UpgradeNodeOptions = {},
): Promise<NodeUpgradeResult> {
  const started = Date.now();
  const run = nodeRun(client, node, target, options);
  const facts =
    options.facts ??
    (await guarded(run, "UPGRADE_NODE_UNREADABLE", "plan", "cannot read the node", () =>
      readNodeFacts(client, node, { signal: run.signal, timeoutMs: run.timeouts.callMs }),
    ));
  const method = methodFor(facts.version, options.method);
  run.emit({
    type: "node-start",
    node,
    from: facts.version,
    to: target.version,
    image: target.image,
    method,
  });
  let watch: EventWatch | undefined;
  try {
    watch =
      method === "lifecycle"
        ? await installWithLifecycle(run, facts.bootId)
        : await installWithLegacyUpgrade(run, facts.bootId);

    run.emit({
      type: "step",
      node,
      step: "wait",
      version: run.version,
      detail: "waiting for the node to return",
    });
    const bootId = await waitForReboot(run, watch, {
      previousBootId: facts.bootId,
      legacy: method === "legacy",
      retryMs: options.retryIntervalMs ?? 500,
      retryMaxMs: options.retryMaxIntervalMs ?? 5_000,
    });
    watch = undefined;
    run.progress.installed = false;

    const after = await verify(run, facts, bootId);
    const hook = options.afterReboot;
    if (hook) {
      await guarded(
        run,
        "UPGRADE_KUBERNETES_NOT_READY",
        "wait",
        "waiting after the reboot failed",
        () => hook(hookSignal(run)),
      );
    }
    const result: NodeUpgradeResult = {
      node,
      from: facts.version,
      version: after.version,
      schematic: after.schematic,
      bootId: after.bootId,
      method,
      durationMs: Date.now() - started,
    };
    run.emit({
      type: "node-done",
      node,
      version: result.version,
      schematic: result.schematic,
      bootId: result.bootId,
      durationMs: result.durationMs,
    });
    return result;
  } catch (error) {
    watch?.close();
    const typed =
      error instanceof UpgradeError
        ? error
        : stepError(run, "UPGRADE_NODE_UNREADABLE", "plan", messageOf(error), error);
    const err = run.progress.installed ? withPendingInstall(typed, facts.version) : typed;
    run.emit({ type: "node-failed", node, error: err });
    throw err;
  }
}

/**
 * Reads the node back after its reboot: it must run the version and schematic
 * installed, with a boot ID other than before. Resolves with what it runs.
 */
async function verify(
  run: NodeRun,
  before: NodeFacts,
  watchedBootId: string | undefined,
): Promise<{ version: string; schematic: string; bootId: string | undefined }> {
  const { node, version, target } = run;
  run.emit({ type: "step", node, step: "verify", version, detail: "version, schematic, boot ID" });
  const after = await guarded(
    run,
    "UPGRADE_NODE_UNREADABLE",
    "verify",
    "cannot read the node",
    () => readNodeFacts(run.client, node, { signal: run.signal, timeoutMs: run.timeouts.callMs }),
  );
  if (compareVersions(after.version, version) !== 0) {
    throw stepError(
      run,
      "UPGRADE_VERSION_MISMATCH",
      "verify",
      `the node came back with Talos ${after.version}, not ${version} (did the installer image carry another version?)`,
    );
  }
  if (after.schematic !== target.schematic) {
    throw stepError(
      run,
      "UPGRADE_SCHEMATIC_MISMATCH",
      "verify",
      `the node came back with schematic ${after.schematic}, not ${target.schematic}`,
    );
  }
  if (after.platform !== before.platform || after.secureBoot !== before.secureBoot) {
    const was = `${before.platform}${before.secureBoot ? " with secure boot" : ""}`;
    const now = `${after.platform}${after.secureBoot ? " with secure boot" : ""}`;
    throw stepError(
      run,
      "UPGRADE_PLATFORM_MISMATCH",
      "verify",
      `the node came back on ${now}, not ${was} (was the installer ${target.image} for another platform?)`,
    );
  }
  const bootId = after.bootId ?? watchedBootId;
  if (before.bootId && bootId && bootId === before.bootId) {
    throw stepError(
      run,
      "UPGRADE_BOOT_ID_UNCHANGED",
      "verify",
      "the boot ID did not change: the node did not reboot",
    );
  }
  return { version: after.version, schematic: after.schematic, bootId };
}
