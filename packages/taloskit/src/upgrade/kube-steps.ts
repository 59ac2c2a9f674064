// A node's Kubernetes side in a rolling upgrade: cordon and drain before its
// reboot (disruption budgets respected; pods forced out only with an
// explicit drain.forceAfterMs, each one reported), wait after it until its
// Node is Ready (with the kubelet version it had, unless the caller names
// one), then uncordon. A node whose Node does not come back Ready stays
// cordoned; a node whose drain fails stays cordoned and is not rebooted.
import { messageOf } from "@taloskit/core";
import { type KubeClient, type KubeNode, nodeNotReady } from "../kubernetes/index.js";
import { stepError } from "./node-run.js";
import type { RunContext } from "./run-context.js";

/** One Talos node's Kubernetes Node while it is upgraded to `version`. */
export interface KubeNodeStep {
  kube: KubeClient;
  /** The Talos node. */
  node: string;
  /** Its Kubernetes Node name (the Talos hostname). */
  name: string;
  version: string;
  signal: AbortSignal | undefined;
  cordoned: boolean;
  /** The kubelet version the Node must report after the reboot, once known. */
  kubelet: string | undefined;
}

export function kubeNodeStep(
  ctx: RunContext,
  kube: KubeClient,
  node: string,
  name: string,
  version: string,
): KubeNodeStep {
  return {
    kube,
    node,
    name,
    version,
    signal: ctx.signal,
    cordoned: false,
    kubelet: ctx.options.kubernetes?.kubeletVersion,
  };
}

/** Cordons and drains the Node (the beforeReboot hook). */
export async function cordonAndDrain(
  ctx: RunContext,
  k: KubeNodeStep,
  signal: AbortSignal,
): Promise<void> {
  const { node, name, version } = k;
  const call = { signal, timeoutMs: ctx.callMs };
  ctx.emit({ type: "step", node, step: "cordon", version, detail: name });
  const before = await k.kube.cordon(name, call).catch((e: unknown) => {
    throw stepError(
      k,
      "UPGRADE_DRAIN_FAILED",
      "cordon",
      `cordoning Kubernetes node ${name} failed: ${messageOf(e)}`,
      e,
    );
  });
  k.cordoned = true;
  k.kubelet ??= before.kubeletVersion;
  ctx.emit({ type: "step", node, step: "drain", version, detail: name });
  const drain = ctx.options.drain;
  await k.kube
    .drain(name, {
      ...call,
      drainTimeoutMs: drain?.timeoutMs,
      intervalMs: drain?.intervalMs,
      maxIntervalMs: drain?.maxIntervalMs,
      forceAfterMs: drain?.forceAfterMs,
      onEvict: (p) => ctx.emit({ type: "evict", node, pod: `${p.namespace}/${p.name}` }),
      onRefused: (_, r) =>
        ctx.emit({ type: "evict-refused", node, pod: r.pod, budgets: r.budgets, detail: r.reason }),
      onForce: (p, r) =>
        ctx.emit({
          type: "pod-forced",
          node,
          pod: r.pod,
          budgets: r.budgets,
          gracePeriodSeconds: p.terminationGracePeriodSeconds,
        }),
    })
    .catch((e: unknown) => {
      throw stepError(
        k,
        "UPGRADE_DRAIN_FAILED",
        "drain",
        `draining Kubernetes node ${name} failed: ${messageOf(e)}; the node stays cordoned and was not rebooted`,
        e,
      );
    });
}

/** Why a Node seen while waiting is not Ready yet, for its event ("" when it is). */
function notReadyDetail(k: KubeNodeStep, seen: KubeNode | undefined, error: unknown): string {
  if (!seen) return `unreadable: ${messageOf(error)}`;
  if (!seen.ready) return seen.reason;
  return nodeNotReady(seen, k.kubelet)
    ? `kubelet ${seen.kubeletVersion ?? "version unknown"}, expected ${k.kubelet}`
    : "";
}

/** After the reboot: waits until the Node is Ready, with the kubelet version when known (the afterReboot hook). */
export async function waitUntilReady(
  ctx: RunContext,
  k: KubeNodeStep,
  signal: AbortSignal,
): Promise<void> {
  const { node, name, version, kubelet } = k;
  ctx.emit({
    type: "step",
    node,
    step: "wait",
    version,
    detail: `for Kubernetes node ${name} to be Ready${kubelet ? ` with kubelet ${kubelet}` : ""}`,
  });
  await k.kube
    .waitForNodeReady(name, {
      signal,
      timeoutMs: ctx.callMs,
      readyTimeoutMs: ctx.options.kubernetes?.readyTimeoutMs ?? 300_000,
      intervalMs: ctx.options.kubernetes?.intervalMs ?? 1_000,
      kubeletVersion: kubelet,
      onChange: (seen, error) =>
        ctx.emit({
          type: "kubernetes-node",
          node,
          name,
          ready: seen?.ready ?? false,
          kubeletVersion: seen?.kubeletVersion,
          detail: notReadyDetail(k, seen, error),
        }),
    })
    .catch((e: unknown) => {
      throw stepError(
        k,
        "UPGRADE_KUBERNETES_NOT_READY",
        "wait",
        `${messageOf(e)}; the node runs ${version} but stays cordoned`,
        e,
      );
    });
}

/** Uncordons the Node, when it was cordoned. */
export async function uncordon(ctx: RunContext, k: KubeNodeStep): Promise<void> {
  if (!k.cordoned) return;
  const { node, name, version } = k;
  ctx.emit({ type: "step", node, step: "uncordon", version, detail: name });
  await k.kube.uncordon(name, { signal: ctx.signal, timeoutMs: ctx.callMs }).catch((e: unknown) => {
    throw stepError(
      k,
      "UPGRADE_DRAIN_FAILED",
      "uncordon",
      `uncordoning Kubernetes node ${name} failed: ${messageOf(e)}`,
      e,
    );
  });
}
