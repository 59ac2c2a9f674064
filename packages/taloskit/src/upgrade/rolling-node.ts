// One node's step in a rolling upgrade: read it first (its facts decide skip
// or upgrade, and the control-plane gates), skip it when it already runs the
// step, refuse it when it is not healthy, else upgrade it with its Kubernetes
// side around the reboot, and record the outcome.
import { compareVersions, messageOf } from "@taloskit/core";
import { UpgradeError } from "./errors.js";
import { moveEtcdLeadership } from "./etcd-safety.js";
import { type NodeFacts, readNodeFacts } from "./inspect.js";
import { cordonAndDrain, kubeNodeStep, uncordon, waitUntilReady } from "./kube-steps.js";
import type { PlannedNode, PlannedStep } from "./plan.js";
import type { RunContext } from "./run-context.js";
import { outcomeOf } from "./run-record.js";
import { upgradeNode } from "./single.js";

/** The node's facts, read before its step; a failure is UPGRADE_NODE_UNHEALTHY at the gate. */
export function readFactsBefore(
  ctx: RunContext,
  planned: PlannedNode,
  version: string,
): Promise<NodeFacts> {
  const { signal } = ctx;
  const node = planned.node;
  return readNodeFacts(ctx.client, node, { signal, timeoutMs: ctx.callMs }).catch(
    (error: unknown) => {
      throw new UpgradeError(
        signal?.aborted ? "UPGRADE_ABORTED" : "UPGRADE_NODE_UNHEALTHY",
        signal?.aborted
          ? `upgrade of ${node} was aborted before it started`
          : `${node}: cannot read the node before upgrading it: ${messageOf(error)}`,
        { node, step: "gate", version, cause: signal?.aborted ? signal.reason : error },
      );
    },
  );
}

/** Whether a node already runs a step: a newer version, or the same one (with, on its last step, the schematic). */
export function alreadyDone(facts: NodeFacts, step: PlannedStep, final: boolean): boolean {
  const cmp = compareVersions(facts.version, step.version);
  return cmp > 0 || (cmp === 0 && (!final || facts.schematic === step.schematic));
}

/**
 * Upgrades one node of the plan to `version` (its step of that wave), or
 * skips it when it runs it already. `known` are facts just read.
 */
export async function upgradeStep(
  ctx: RunContext,
  planned: PlannedNode,
  version: string,
  final: boolean,
  known?: NodeFacts,
): Promise<void> {
  const out = outcomeOf(ctx.record, planned.node);
  const step = planned.steps.find((s) => s.version === version);
  if (!step) return;
  const facts = known ?? (await readFactsBefore(ctx, planned, version));
  if (alreadyDone(facts, step, final)) {
    const same = compareVersions(facts.version, version) === 0;
    ctx.emit({
      type: "node-skip",
      node: planned.node,
      version,
      reason: `already runs ${facts.version}${same && final ? ` with schematic ${facts.schematic.slice(0, 12)}…` : ""}`,
    });
    if (out.status === "not-started") out.status = "skipped";
    return;
  }
  if (facts.stage !== "running" || !facts.ready) {
    throw new UpgradeError(
      "UPGRADE_NODE_UNHEALTHY",
      `${planned.node}: the node is not running and ready (stage ${facts.stage}) before its upgrade`,
      { node: planned.node, step: "gate", version },
    );
  }
  const t0 = Date.now();
  const kube = ctx.options.kube;
  const k = kube ? kubeNodeStep(ctx, kube, planned.node, facts.hostname, version) : undefined;
  // Before the reboot, in order: cordon and drain, then (a control plane, etcd
  // gate on) move etcd leadership off the node, as late as possible.
  const hooks: ((s: AbortSignal) => Promise<void>)[] = [];
  if (k) hooks.push((s) => cordonAndDrain(ctx, k, s));
  if (planned.role === "controlplane" && ctx.options.gates?.etcd !== false)
    hooks.push((s) => moveEtcdLeadership(ctx, planned.node, s));
  try {
    await upgradeNode(ctx.client, planned.node, step, {
      ...ctx.options,
      signal: ctx.signal,
      facts,
      method: step.method,
      beforeReboot: hooks.length
        ? async (s) => {
            for (const hook of hooks) await hook(s);
          }
        : undefined,
      afterReboot: k ? (s) => waitUntilReady(ctx, k, s) : undefined,
    });
    if (k) await uncordon(ctx, k);
    out.installed.push(version);
    out.status = "upgraded";
  } finally {
    out.durationMs += Date.now() - t0;
  }
}
