// What a rolling upgrade is given (RunUpgradeOptions) and what its parts
// share while it runs: the client, the plan, the settled timings, the events
// and the run's record.
import type { TalosClient } from "@taloskit/client";
import type { KubeClient } from "../kubernetes/index.js";
import { UpgradeError } from "./errors.js";
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

/** How long a node's drain may take unless the caller says (the Kubernetes client's default). */
const DEFAULT_DRAIN_TIMEOUT_MS = 300_000;

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
  /**
   * With `kube`: the drain of each node. `timeoutMs` bounds it (default 5 min);
   * evictions a disruption budget refuses are retried from `intervalMs`
   * (default 1 s), doubling up to `maxIntervalMs` (default 10 s). Pods still
   * refused `forceAfterMs` after the drain started are deleted directly and
   * reported (`pod-forced` events): an explicit fallback, never the default.
   */
  drain?: {
    timeoutMs?: number;
    intervalMs?: number;
    maxIntervalMs?: number;
    forceAfterMs?: number | undefined;
  };
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
   * Health gates: etcd (default on); kubernetes, with `kube` (default on; false
   * turns it off): before each control plane and each worker batch goes down,
   * every Kubernetes node of the plan Ready and no disruption budget at 0
   * allowed disruptions covering pods on those nodes (unless
   * `drain.forceAfterMs` is set); and how long a gate waits for health
   * (default 5 min).
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

/** Refuses options that would only fail half-way, before any node is touched. */
function checkOptions(options: RunUpgradeOptions): void {
  const force = options.drain?.forceAfterMs;
  const limit = options.drain?.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (force !== undefined && !(force >= 0 && force < limit)) {
    throw new UpgradeError(
      "UPGRADE_INVALID_ARGUMENT",
      `drain.forceAfterMs (${force} ms) must be at least 0 and less than the drain timeout (${limit} ms)`,
      { step: "plan" },
    );
  }
}

export function runContext(
  client: TalosClient,
  plan: UpgradePlan,
  options: RunUpgradeOptions,
): RunContext {
  checkOptions(options);
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
