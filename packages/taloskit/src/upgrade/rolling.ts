// Running a cluster upgrade plan: wave by wave (one per version on the way),
// control-plane nodes one at a time behind an etcd health and quorum gate,
// then workers in batches behind a cluster gate. Optional cordon and drain
// through the Kubernetes API; with it, each node's Kubernetes Node must be
// Ready again (with its kubelet's version) before it is uncordoned, and a
// Kubernetes gate holds every control plane and worker batch until all
// Kubernetes nodes of the plan are Ready and no disruption budget is in the
// way. Before any node is touched, an etcd snapshot is saved and read back
// (etcd-safety.ts), and each control plane hands etcd leadership on just
// before its reboot. The run stops at the first failure and touches
// no further node; running the same plan again skips nodes that are already
// at the version (and, on their last step, the schematic). With a state file
// (state-file.ts) the run is recorded node by node, and resumed from it.
//
// This module is the order of the work; gates.ts, rolling-node.ts,
// kube-steps.ts and run-record.ts hold the parts.
import type { TalosClient } from "@taloskit/client";
import { saveEtcdSnapshot } from "./etcd-safety.js";
import type { UpgradeEvent } from "./events.js";
import { etcdGate, kubernetesGate } from "./gates.js";
import type { PlannedNode, PlannedWave, UpgradePlan } from "./plan.js";
import { alreadyDone, readFactsBefore, upgradeStep } from "./rolling-node.js";
import { isFinal, type RunContext, type RunUpgradeOptions, runContext } from "./run-context.js";
import { failRun, finishRun, markFailed, summaryOf, type UpgradeSummary } from "./run-record.js";
import { openUpgradeState, readUpgradeState } from "./state-file.js";

export type { RunUpgradeOptions } from "./run-context.js";
export { type NodeOutcome, UpgradeRunError, type UpgradeSummary } from "./run-record.js";

/**
 * Runs an upgrade plan. Resolves with the summary; throws UpgradeRunError at
 * the first failure. With `state`, the state file is read first: one of
 * another plan, or one that is not a state file, throws UpgradeError
 * (UPGRADE_STATE_*) before anything happens; one of this plan is resumed.
 */
export async function runUpgrade(
  client: TalosClient,
  plan: UpgradePlan,
  options: RunUpgradeOptions = {},
): Promise<UpgradeSummary> {
  const path = options.state?.path;
  // A dry run only checks the state file; a run writes it before touching anything.
  if (path && options.dryRun) readUpgradeState(path, plan);
  const state = path && !options.dryRun ? openUpgradeState(path, plan) : undefined;
  const listener = options.onEvent;
  const onEvent = state
    ? (e: UpgradeEvent) => {
        state.onEvent(e);
        listener?.(e);
      }
    : listener;
  const ctx = runContext(client, plan, { ...options, onEvent });
  ctx.emit({
    type: "run-start",
    target: plan.target,
    nodes: plan.nodes.length,
    dryRun: !!options.dryRun,
  });
  if (options.dryRun) {
    ctx.emit({ type: "run-done", ok: true, upgraded: 0, skipped: 0, durationMs: 0 });
    return summaryOf(ctx.record, true);
  }
  if (state?.resumed) {
    ctx.emit({
      type: "resume",
      path: state.path,
      done: state.state.nodes.filter((n) => n.status === "done").map((n) => n.node),
      failed: state.earlierFailure,
    });
  }
  // Before each node (or batch), the state file is written: a run that cannot record stops.
  const checkpoint = async () => {
    try {
      await state?.checkpoint();
    } catch (error) {
      failRun(ctx.record, error, undefined);
    }
  };
  try {
    try {
      ctx.record.etcdSnapshot = await saveEtcdSnapshot(ctx);
    } catch (error) {
      failRun(ctx.record, error, undefined);
    }
    if (state && ctx.record.etcdSnapshot) state.state.etcdSnapshot = ctx.record.etcdSnapshot;
    for (const wave of plan.waves) {
      ctx.emit({
        type: "wave-start",
        version: wave.version,
        nodes: [...wave.controlPlanes, ...wave.workers],
      });
      await upgradeControlPlanes(ctx, wave, checkpoint);
      await upgradeWorkers(ctx, wave, checkpoint);
    }
    try {
      await state?.finish();
    } catch (error) {
      failRun(ctx.record, error, undefined);
    }
  } catch (error) {
    // The run's own failure is the one to report, whether or not the file takes it.
    await state?.finish(error).catch(() => {});
    throw error;
  }
  return finishRun(ctx.record, true);
}

/**
 * The control planes of a wave, one at a time. Before each: every etcd member
 * healthy and quorum kept with it down (checked once before the first; for
 * the next ones, the gate after the previous one has just checked it), and,
 * when asked for, every Kubernetes node of the plan Ready. After each: wait
 * until etcd is healthy again.
 */
async function upgradeControlPlanes(
  ctx: RunContext,
  wave: PlannedWave,
  checkpoint: () => Promise<void>,
): Promise<void> {
  let gated = false;
  for (const cp of wave.controlPlanes) {
    await checkpoint();
    const planned = ctx.byNode.get(cp) as PlannedNode;
    const final = isFinal(ctx, cp, wave.version);
    const step = planned.steps.find((s) => s.version === wave.version);
    try {
      const facts = await readFactsBefore(ctx, planned, wave.version);
      if (step && !alreadyDone(facts, step, final)) {
        if (!gated) await etcdGate(ctx, cp, false);
        await kubernetesGate(ctx, cp);
      }
      await upgradeStep(ctx, planned, wave.version, final, facts);
      await etcdGate(ctx, cp, true);
      gated = true;
    } catch (error) {
      failRun(ctx.record, error, cp);
    }
  }
}

/**
 * The workers of a wave in batches, each batch behind the etcd and the
 * Kubernetes gates. Every
 * failure of a batch is recorded; the run stops with the first.
 */
async function upgradeWorkers(
  ctx: RunContext,
  wave: PlannedWave,
  checkpoint: () => Promise<void>,
): Promise<void> {
  const size = Math.max(1, Math.floor(ctx.options.batchSize ?? 1));
  for (let i = 0; i < wave.workers.length; i += size) {
    await checkpoint();
    const batch = wave.workers.slice(i, i + size);
    ctx.emit({ type: "batch-start", version: wave.version, nodes: batch });
    try {
      await etcdGate(ctx, batch[0] as string, true);
      await kubernetesGate(ctx, batch[0] as string, batch);
    } catch (error) {
      failRun(ctx.record, error, undefined);
    }
    const results = await Promise.allSettled(
      batch.map((w) =>
        upgradeStep(
          ctx,
          ctx.byNode.get(w) as PlannedNode,
          wave.version,
          isFinal(ctx, w, wave.version),
        ),
      ),
    );
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed < 0) continue;
    results.forEach((r, j) => {
      if (r.status === "rejected" && j !== failed) markFailed(ctx.record, batch[j], r.reason);
    });
    failRun(ctx.record, (results[failed] as PromiseRejectedResult).reason, batch[failed]);
  }
}

export type { UpgradeEvent };
