// What a rolling upgrade is given (RunUpgradeOptions) and what its parts
// share while it runs: the client, the plan, the settled timings, the events
// and the run's record.
import type { TalosClient } from "@taloskit/client";
import type { KubeClient } from "../kubernetes/index.js";
import { emitter, type UpgradeEventInit, type UpgradeListener } from "./events.js";
import type { UpgradeNodeOptions } from "./node-run.js";
import type { PlannedNode, UpgradePlan } from "./plan.js";
import { type RunRecord, startRecord } from "./run-record.js";
import type { UpgradeStateOptions } from "./state-file.js";

/** Where and how a run saves its etcd snapshot (`etcdSnapshot`). */
export interface EtcdSnapshotOptions {
  /** The file to write. Default: `etcd-<first control plane>-<UTC time>.snapshot` in `dir`. */
  path?: string | undefined;
  /** Where the default file goes (default: the system's temporary directory). */
  dir?: string | undefined;
  /**
   * Keep the snapshot already at `path` (a run resumed): it is verified, and no
   * new snapshot is taken. A missing or unreadable file stops the run.
   */
  reuse?: boolean | undefined;
  /** How long streaming the snapshot may take (default 10 min). */
  timeoutMs?: number | undefined;
}

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
  /** Keep the run's state in a file, and resume the run it records (see state-file.ts). */
  state?: UpgradeStateOptions | undefined;
  /**
   * The etcd snapshot saved, fsynced and read back before the first control plane
   * goes down (on by default; the summary gives its path). `false` turns it off;
   * `{ path, reuse: true }` verifies and keeps a snapshot of an earlier attempt.
   */
  etcdSnapshot?: false | EtcdSnapshotOptions | undefined;
}

/** A run under way. */
export interface RunContext {
  client: TalosClient;
  plan: UpgradePlan;
  options: RunUpgradeOptions;
  signal: AbortSignal | undefined;
  emit: (e: UpgradeEventInit) => void;
  /** Each unary call. */
  callMs: number;
  /** How long a gate waits for health, and how often it looks. */
  gateMs: number;
  gateIntervalMs: number;
  /** The control-plane nodes of the plan (etcd members). */
  controlPlanes: string[];
  byNode: Map<string, PlannedNode>;
  record: RunRecord;
}

export function runContext(
  client: TalosClient,
  plan: UpgradePlan,
  options: RunUpgradeOptions,
): RunContext {
  const emit = emitter(options.onEvent);
  return {
    client,
    plan,
    options,
    signal: options.signal,
    emit,
    callMs: options.timeouts?.callMs ?? 30_000,
    gateMs: options.gates?.timeoutMs ?? 300_000,
    gateIntervalMs: options.gates?.intervalMs ?? 1_000,
    controlPlanes: plan.nodes.filter((n) => n.role === "controlplane").map((n) => n.node),
    byNode: new Map(plan.nodes.map((n) => [n.node, n])),
    record: startRecord(plan, options.dryRun ?? false, emit),
  };
}

/** Whether `version` is the last step of `node`. */
export function isFinal(ctx: RunContext, node: string, version: string): boolean {
  return ctx.byNode.get(node)?.steps.at(-1)?.version === version;
}
