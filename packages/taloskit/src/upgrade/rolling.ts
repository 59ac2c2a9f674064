// Running a cluster upgrade plan: wave by wave (one per version on the way),
// control-plane nodes one at a time behind an etcd health and quorum gate,
// then workers in batches behind a cluster gate. Optional cordon and drain
// through the Kubernetes API; with it, each node's Kubernetes Node must be
// Ready again (with its kubelet's version) before it is uncordoned, and an
// optional gate holds every control plane until all Kubernetes nodes of the
// plan are Ready. The run stops at the first failure and touches
// no further node; running the same plan again skips nodes that are already
// at the version (and, on their last step, the schematic).
import { setTimeout as sleep } from "node:timers/promises";
import type { TalosClient } from "@taloskit/client";
import { compareVersions } from "@taloskit/factory";
import { reason, UpgradeError } from "./errors.js";
import { emitter, type UpgradeEvent, type UpgradeListener } from "./events.js";
import { type NodeFacts, readNodeFacts } from "./inspect.js";
import { type KubeClient, type KubeNode, nodeNotReady } from "./kubernetes.js";
import type { PlannedNode, PlannedStep, UpgradePlan } from "./plan.js";
import { type UpgradeNodeOptions, upgradeNode } from "./single.js";

/** Options of runUpgrade(). */
export interface RunUpgradeOptions
  extends Omit<UpgradeNodeOptions, "facts" | "beforeReboot" | "onEvent" | "signal" | "method"> {
  signal?: AbortSignal;
  onEvent?: UpgradeListener;
  /** Workers upgraded at once (default 1). */
  batchSize?: number;
  /** Only report what would be done. */
  dryRun?: boolean;
  /**
   * Cordon and drain each node through the Kubernetes API before its reboot; after it,
   * wait until its Kubernetes Node is Ready (see `kubernetes`), then uncordon.
   */
  kube?: KubeClient | undefined;
  drain?: { timeoutMs?: number; intervalMs?: number };
  /** With `kube`: waiting for each node's Kubernetes Node after its reboot. */
  kubernetes?: {
    /** How long the Node may take to be Ready once the Talos node is back (default 5 min). */
    readyTimeoutMs?: number;
    /** Delay between checks (default 1 s). */
    intervalMs?: number;
    /**
     * The kubelet version each Node must report. Default: the version it reported
     * when it was cordoned (a Talos upgrade keeps the kubelet's version).
     */
    kubeletVersion?: string | undefined;
  };
  /**
   * Health gates: etcd (default on); kubernetes, with `kube` (default off): every
   * Kubernetes node of the plan Ready before each control plane goes down; and how
   * long a gate waits for health (default 5 min).
   */
  gates?: { etcd?: boolean; kubernetes?: boolean; timeoutMs?: number; intervalMs?: number };
}

/** What happened to one node. */
export interface NodeOutcome {
  node: string;
  role: "controlplane" | "worker";
  from: string;
  to: string;
  /** Versions installed in this run. */
  installed: string[];
  status: "upgraded" | "skipped" | "failed" | "not-started" | "planned";
  durationMs: number;
  error?: { code: string; step: string | undefined; message: string } | undefined;
}

/** The result of a run. */
export interface UpgradeSummary {
  target: string;
  ok: boolean;
  dryRun: boolean;
  nodes: NodeOutcome[];
  durationMs: number;
}

/** A failed run: the UpgradeError of the node or gate that stopped it, with the summary so far. */
export class UpgradeRunError extends UpgradeError {
  readonly summary: UpgradeSummary;
  constructor(error: UpgradeError, summary: UpgradeSummary) {
    super(error.code, error.message, {
      node: error.node,
      step: error.step,
      version: error.version,
      cause: error,
    });
    this.summary = summary;
  }
}

/** Runs an upgrade plan. Resolves with the summary; throws UpgradeRunError at the first failure. */
export async function runUpgrade(
  client: TalosClient,
  plan: UpgradePlan,
  options: RunUpgradeOptions = {},
): Promise<UpgradeSummary> {
  const started = Date.now();
  const emit = emitter(options.onEvent);
  const callMs = options.timeouts?.callMs ?? 30_000;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 1));
  const outcomes = new Map<string, NodeOutcome>(
    plan.nodes.map((n) => [
      n.node,
      {
        node: n.node,
        role: n.role,
        from: n.version,
        to: n.steps.at(-1)?.version ?? n.version,
        installed: [],
        status: n.action === "skip" ? "skipped" : options.dryRun ? "planned" : "not-started",
        durationMs: 0,
      },
    ]),
  );
  const byNode = new Map(plan.nodes.map((n) => [n.node, n]));
  const summary = (ok: boolean): UpgradeSummary => ({
    target: plan.target,
    ok,
    dryRun: options.dryRun ?? false,
    nodes: [...outcomes.values()],
    durationMs: Date.now() - started,
  });
  // Ends the run: one run-done event counted from the summary.
  const done = (ok: boolean): UpgradeSummary => {
    const s = summary(ok);
    emit({
      type: "run-done",
      ok,
      upgraded: s.nodes.filter((n) => n.status === "upgraded").length,
      skipped: s.nodes.filter((n) => n.status === "skipped").length,
      durationMs: s.durationMs,
    });
    return s;
  };
  emit({
    type: "run-start",
    target: plan.target,
    nodes: plan.nodes.length,
    dryRun: !!options.dryRun,
  });
  if (options.dryRun) {
    emit({ type: "run-done", ok: true, upgraded: 0, skipped: 0, durationMs: 0 });
    return summary(true);
  }

  const controlPlanes = plan.nodes.filter((n) => n.role === "controlplane").map((n) => n.node);
  const gateMs = options.gates?.timeoutMs ?? 300_000;
  const gateInterval = options.gates?.intervalMs ?? 1_000;
  const signal = options.signal;

  const etcdGate = async (about: string, wait: boolean) => {
    if (options.gates?.etcd === false || controlPlanes.length === 0) return;
    const limit = AbortSignal.timeout(wait ? gateMs : callMs * 2);
    const s = signal ? AbortSignal.any([signal, limit]) : limit;
    for (;;) {
      const problem = await etcdProblem(client, controlPlanes, about, s, callMs);
      if (!problem.error) {
        emit({ type: "gate", gate: "etcd", node: about, ok: true, detail: problem.detail });
        return;
      }
      if (!wait || s.aborted) {
        emit({ type: "gate", gate: "etcd", node: problem.node, ok: false, detail: problem.detail });
        throw new UpgradeError(
          signal?.aborted ? "UPGRADE_ABORTED" : "UPGRADE_ETCD_UNHEALTHY",
          problem.detail,
          { node: problem.node, step: "gate", cause: problem.error },
        );
      }
      await sleep(gateInterval, undefined, { signal: s }).catch(() => undefined);
    }
  };

  // Every Kubernetes node of the plan Ready before `about` (a control plane) goes down.
  const kubeGate = async (about: string) => {
    const kube = options.kube;
    if (!kube || !options.gates?.kubernetes) return;
    const limit = AbortSignal.timeout(gateMs);
    const s = signal ? AbortSignal.any([signal, limit]) : limit;
    let problem = "the Kubernetes nodes were not read";
    let bad: string | undefined;
    for (;;) {
      try {
        const seen = new Map(
          (await kube.nodes({ signal: s, timeoutMs: callMs })).map((n) => [n.name, n]),
        );
        const notReady = plan.nodes.flatMap((p) => {
          const k = seen.get(p.hostname);
          return k?.ready ? [] : [{ planned: p, k }];
        });
        const first = notReady[0];
        if (!first) {
          emit({
            type: "gate",
            gate: "kubernetes",
            node: about,
            ok: true,
            detail: `${plan.nodes.length} Kubernetes node(s) of the plan Ready`,
          });
          return;
        }
        bad = first.planned.node;
        const name = first.planned.hostname;
        problem = `${notReady.length} Kubernetes node(s) of the plan not Ready, first ${name} (${bad}): ${first.k ? first.k.reason : "no Node of that name"}`;
      } catch (error) {
        if (!s.aborted) {
          bad = undefined;
          problem = `cannot list Kubernetes nodes: ${reason(error)}`;
        }
      }
      if (!s.aborted) await sleep(gateInterval, undefined, { signal: s }).catch(() => undefined);
      if (s.aborted) {
        const detail = `${problem}: refusing to take ${about} down`;
        emit({ type: "gate", gate: "kubernetes", node: bad ?? about, ok: false, detail });
        throw new UpgradeError(
          signal?.aborted ? "UPGRADE_ABORTED" : "UPGRADE_KUBERNETES_NOT_READY",
          detail,
          { node: bad ?? about, step: "gate", cause: signal?.aborted ? signal.reason : undefined },
        );
      }
    }
  };

  // The node's facts, read once before its step: they decide skip or upgrade (and the
  // etcd gate of a control plane), and upgradeNode reuses them.
  const readFacts = (planned: PlannedNode, version: string): Promise<NodeFacts> =>
    readNodeFacts(client, planned.node, { signal, timeoutMs: callMs }).catch((error: unknown) => {
      throw new UpgradeError(
        signal?.aborted ? "UPGRADE_ABORTED" : "UPGRADE_NODE_UNHEALTHY",
        signal?.aborted
          ? `upgrade of ${planned.node} was aborted before it started`
          : `${planned.node}: cannot read the node before upgrading it: ${reason(error)}`,
        {
          node: planned.node,
          step: "gate",
          version,
          cause: signal?.aborted ? signal.reason : error,
        },
      );
    });

  // After a node's reboot: its Kubernetes Node Ready, with the kubelet version when known.
  const waitKubeReady = async (
    node: string,
    name: string,
    version: string,
    kubelet: string | undefined,
    s: AbortSignal,
  ) => {
    const kube = options.kube as KubeClient;
    emit({
      type: "step",
      node,
      step: "wait",
      version,
      detail: `for Kubernetes node ${name} to be Ready${kubelet ? ` with kubelet ${kubelet}` : ""}`,
    });
    const readyTimeoutMs = options.kubernetes?.readyTimeoutMs ?? 300_000;
    await kube
      .waitForNodeReady(name, {
        signal: s,
        timeoutMs: callMs,
        readyTimeoutMs,
        intervalMs: options.kubernetes?.intervalMs ?? 1_000,
        kubeletVersion: kubelet,
        onChange: (k: KubeNode | undefined, error: unknown) =>
          emit({
            type: "kubernetes-node",
            node,
            name,
            ready: k?.ready ?? false,
            kubeletVersion: k?.kubeletVersion,
            detail: !k
              ? `unreadable: ${reason(error)}`
              : !k.ready
                ? k.reason
                : nodeNotReady(k, kubelet)
                  ? `kubelet ${k.kubeletVersion ?? "version unknown"}, expected ${kubelet}`
                  : "",
          }),
      })
      .catch((e: unknown) => {
        if (s.aborted) throw e; // upgradeNode reports the abort
        throw new UpgradeError(
          "UPGRADE_KUBERNETES_NOT_READY",
          `${node}: ${reason(e)}; the node runs ${version} but stays cordoned`,
          { node, step: "wait", version, cause: e },
        );
      });
  };

  const upgradeOne = async (
    planned: PlannedNode,
    version: string,
    final: boolean,
    known?: NodeFacts,
  ) => {
    const out = outcomes.get(planned.node) as NodeOutcome;
    const step = planned.steps.find((s) => s.version === version);
    if (!step) return;
    const facts = known ?? (await readFacts(planned, version));
    if (alreadyDone(facts, step, final)) {
      const cmp = compareVersions(facts.version, version);
      emit({
        type: "node-skip",
        node: planned.node,
        version,
        reason: `already runs ${facts.version}${cmp === 0 && final ? ` with schematic ${facts.schematic.slice(0, 12)}…` : ""}`,
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
    const kube = options.kube;
    const k8sName = facts.hostname;
    let cordoned = false;
    // The kubelet version the Node must report after the reboot.
    let kubelet = options.kubernetes?.kubeletVersion;
    try {
      await upgradeNode(client, planned.node, step, {
        ...options,
        signal,
        facts,
        method: step.method,
        beforeReboot: kube
          ? async (s) => {
              emit({ type: "step", node: planned.node, step: "cordon", version, detail: k8sName });
              const before = await kube
                .cordon(k8sName, { signal: s, timeoutMs: callMs })
                .catch((e: unknown) => {
                  throw new UpgradeError(
                    "UPGRADE_DRAIN_FAILED",
                    `${planned.node}: cordoning Kubernetes node ${k8sName} failed: ${reason(e)}`,
                    { node: planned.node, step: "cordon", version, cause: e },
                  );
                });
              cordoned = true;
              kubelet ??= before.kubeletVersion;
              emit({ type: "step", node: planned.node, step: "drain", version, detail: k8sName });
              await kube
                .drain(k8sName, {
                  signal: s,
                  timeoutMs: callMs,
                  drainTimeoutMs: options.drain?.timeoutMs,
                  intervalMs: options.drain?.intervalMs,
                  onEvict: (p) =>
                    emit({ type: "evict", node: planned.node, pod: `${p.namespace}/${p.name}` }),
                })
                .catch((e: unknown) => {
                  throw new UpgradeError(
                    "UPGRADE_DRAIN_FAILED",
                    `${planned.node}: draining Kubernetes node ${k8sName} failed: ${reason(e)}; the node stays cordoned and was not rebooted`,
                    { node: planned.node, step: "drain", version, cause: e },
                  );
                });
            }
          : undefined,
        afterReboot: kube
          ? (s) => waitKubeReady(planned.node, k8sName, version, kubelet, s)
          : undefined,
      });
      if (kube && cordoned) {
        emit({ type: "step", node: planned.node, step: "uncordon", version, detail: k8sName });
        await kube.uncordon(k8sName, { signal, timeoutMs: callMs }).catch((e: unknown) => {
          throw new UpgradeError(
            "UPGRADE_DRAIN_FAILED",
            `${planned.node}: uncordoning Kubernetes node ${k8sName} failed: ${reason(e)}`,
            { node: planned.node, step: "uncordon", version, cause: e },
          );
        });
      }
      out.installed.push(version);
      out.status = "upgraded";
    } finally {
      out.durationMs += Date.now() - t0;
    }
  };

  const failOn = (error: unknown, node: string | undefined): never => {
    const err =
      error instanceof UpgradeError
        ? error
        : new UpgradeError("UPGRADE_NODE_UNHEALTHY", reason(error), { node, cause: error });
    const out = err.node ? outcomes.get(err.node) : undefined;
    if (out) {
      out.status = "failed";
      out.error = { code: err.code, step: err.step, message: err.message };
    }
    throw new UpgradeRunError(err, done(false));
  };

  const isFinal = (node: string, version: string) =>
    byNode.get(node)?.steps.at(-1)?.version === version;

  for (const wave of plan.waves) {
    emit({
      type: "wave-start",
      version: wave.version,
      nodes: [...wave.controlPlanes, ...wave.workers],
    });
    // Whether the etcd gate has just passed (after the previous control plane).
    let gated = false;
    for (const cp of wave.controlPlanes) {
      const planned = byNode.get(cp) as PlannedNode;
      const final = isFinal(cp, wave.version);
      const step = planned.steps.find((s) => s.version === wave.version);
      try {
        const facts = await readFacts(planned, wave.version);
        // Gate: every etcd member healthy, and quorum holds with this node down
        // (already checked when the previous control plane's gate just passed).
        if (step && !alreadyDone(facts, step, final)) {
          if (!gated) await etcdGate(cp, false);
          // Gate: every Kubernetes node of the plan Ready (when asked for).
          await kubeGate(cp);
        }
        await upgradeOne(planned, wave.version, final, facts);
        // After: wait until etcd is healthy again before the next node.
        await etcdGate(cp, true);
        gated = true;
      } catch (error) {
        failOn(error, cp);
      }
    }
    for (let i = 0; i < wave.workers.length; i += batchSize) {
      const batch = wave.workers.slice(i, i + batchSize);
      emit({ type: "batch-start", version: wave.version, nodes: batch });
      try {
        await etcdGate(batch[0] as string, true);
      } catch (error) {
        failOn(error, undefined);
      }
      const results = await Promise.allSettled(
        batch.map((w) =>
          upgradeOne(byNode.get(w) as PlannedNode, wave.version, isFinal(w, wave.version)),
        ),
      );
      const failed = results.findIndex((r) => r.status === "rejected");
      if (failed >= 0) {
        // Record every failure of the batch; stop with the first.
        results.forEach((r, j) => {
          if (r.status !== "rejected" || j === failed) return;
          const e = r.reason as UpgradeError;
          const out = outcomes.get(batch[j] as string);
          if (out)
            out.error = {
              code: e.code ?? "UPGRADE_NODE_UNHEALTHY",
              step: e.step,
              message: reason(e),
            };
          if (out) out.status = "failed";
        });
        failOn((results[failed] as PromiseRejectedResult).reason, batch[failed]);
      }
    }
  }
  return done(true);
}

/** Whether a node already runs a step: a newer version, or the same one (with, on its last step, the schematic). */
function alreadyDone(facts: NodeFacts, step: PlannedStep, final: boolean): boolean {
  const cmp = compareVersions(facts.version, step.version);
  return cmp > 0 || (cmp === 0 && (!final || facts.schematic === step.schematic));
}

/** Checks etcd on every control-plane node; the node about to go down must leave a quorum. */
async function etcdProblem(
  client: TalosClient,
  controlPlanes: readonly string[],
  about: string,
  signal: AbortSignal,
  callMs: number,
): Promise<{ error?: unknown; node?: string; detail: string }> {
  const statuses = await client.onNodes(
    controlPlanes,
    (node, s) => client.machine.etcdStatus({}, { node, signal: s, timeoutMs: callMs }),
    { concurrency: 8, signal },
  );
  const bad = statuses.find((r) => "error" in r);
  if (bad && "error" in bad) {
    return {
      error: bad.error,
      node: bad.node,
      detail: `etcd on ${bad.node} is not healthy (${bad.error.message}): refusing to take ${about} down`,
    };
  }
  const first = controlPlanes[0] as string;
  let members = controlPlanes.length;
  try {
    const list = await client.machine.etcdMemberList(
      {},
      { node: first, signal, timeoutMs: callMs },
    );
    members = list.messages[0]?.members.length ?? members;
  } catch (error) {
    return {
      error,
      node: first,
      detail: `cannot list etcd members on ${first}: ${reason(error)}`,
    };
  }
  // Every control plane asked answered healthy (else we returned above); members
  // outside the plan were not asked and count as healthy. So the members left
  // while `about` reboots are all the others.
  const quorum = Math.floor(members / 2) + 1;
  const left = members - 1;
  if (members > 1 && left < quorum) {
    return {
      error: new Error("quorum"),
      node: about,
      detail: `etcd has ${members} members: taking ${about} down would leave ${left}, below the quorum of ${quorum}`,
    };
  }
  return {
    detail: `${controlPlanes.length} control-plane node(s) healthy, ${members} members, quorum ${quorum}${members > 1 ? "" : " (single member: etcd is down while it reboots)"}`,
  };
}

export type { UpgradeEvent };
