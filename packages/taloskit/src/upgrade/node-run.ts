// One node's upgrade as the steps see it: the options a caller gives, the
// run (client, node, target, signal, timeouts, events) every step receives,
// and how a step's failure becomes an UpgradeError for that node and step.
import { isTransient, type TalosClient } from "@taloskit/client";
import { messageOf, retry } from "@taloskit/core";
import { UpgradeError, type UpgradeErrorCode, type UpgradeStep } from "./errors.js";
import {
  emitter,
  type UpgradeEventInit,
  type UpgradeListener,
  type UpgradeMethod,
} from "./events.js";
import type { NodeFacts } from "./inspect.js";
import type { Containerd, RebootMode } from "./node-api.js";

/** What to install on a node. */
export interface InstallTarget {
  /** Talos version the installer carries, e.g. "v1.14.0". */
  version: string;
  /** Installer image reference. */
  image: string;
  /** Schematic ID the installer was built from (checked after the reboot). */
  schematic: string;
}

/** Timeouts of one node upgrade, in milliseconds. */
export interface NodeUpgradeTimeouts {
  /** Each unary call (default 30 s). */
  callMs?: number;
  /** ImageService.Pull (default 10 min). */
  pullMs?: number;
  /** LifecycleService.Upgrade (default 10 min). */
  installMs?: number;
  /** From the reboot until the node is back running and ready (default 15 min). */
  rebootMs?: number;
}

/** Options of upgradeNode(). */
export interface UpgradeNodeOptions {
  signal?: AbortSignal | undefined;
  onEvent?: UpgradeListener | undefined;
  /** "auto" (default): LifecycleService on 1.13 and newer, MachineService.Upgrade before. */
  method?: "auto" | UpgradeMethod;
  /** Reboot mode of the Reboot call (lifecycle path); default "default". */
  rebootMode?: RebootMode;
  /** Options of the legacy MachineService.Upgrade. */
  legacy?: {
    stage?: boolean;
    preserve?: boolean;
    force?: boolean;
    rebootMode?: "default" | "powercycle";
  };
  /** The containerd instance to pull into (default: CRI driver, system namespace, as talosctl). */
  containerd?: Containerd;
  timeouts?: NodeUpgradeTimeouts;
  /** First delay between reconnection attempts while the node reboots (default 500 ms, doubling). */
  retryIntervalMs?: number;
  /** Longest delay between reconnection attempts (default 5 s). */
  retryMaxIntervalMs?: number;
  /** Runs after the installer is written and before the node reboots (cordon and drain go here). */
  beforeReboot?: ((signal: AbortSignal) => Promise<void>) | undefined;
  /**
   * Runs after the node came back and was verified, before `node-done` (waiting
   * for its Kubernetes node to be Ready goes here). A failure that is not an
   * UpgradeError becomes UPGRADE_KUBERNETES_NOT_READY at step "wait".
   */
  afterReboot?: ((signal: AbortSignal) => Promise<void>) | undefined;
  /** Facts read just before, when the caller has them (saves calls). */
  facts?: NodeFacts | undefined;
}

/** One node's upgrade to one version: what every step is given. */
export interface NodeRun {
  client: TalosClient;
  node: string;
  target: InstallTarget;
  /** The version being installed (target.version). */
  version: string;
  signal: AbortSignal | undefined;
  timeouts: Required<NodeUpgradeTimeouts>;
  options: UpgradeNodeOptions;
  emit: (e: UpgradeEventInit) => void;
  /** Set once the installer is on the node's disk, until the node has booted it. */
  progress: { installed: boolean };
}

const DEFAULT_TIMEOUTS: Required<NodeUpgradeTimeouts> = {
  callMs: 30_000,
  pullMs: 600_000,
  installMs: 600_000,
  rebootMs: 900_000,
};

export function nodeRun(
  client: TalosClient,
  node: string,
  target: InstallTarget,
  options: UpgradeNodeOptions,
): NodeRun {
  return {
    client,
    node,
    target,
    version: target.version,
    signal: options.signal,
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    options,
    emit: emitter(options.onEvent),
    progress: { installed: false },
  };
}

/** A signal that aborts with the run's signal or after `ms`. */
export function within(run: Pick<NodeRun, "signal">, ms: number): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return run.signal ? AbortSignal.any([run.signal, t]) : t;
}

/** The run's signal, or one that never aborts (for hooks, which take a signal). */
export function hookSignal(run: Pick<NodeRun, "signal">): AbortSignal {
  return run.signal ?? new AbortController().signal;
}

/** A step's failure on this node; UPGRADE_ABORTED when the caller aborted. */
export function stepError(
  run: Pick<NodeRun, "node" | "version" | "signal">,
  code: UpgradeErrorCode,
  step: UpgradeStep,
  message: string,
  cause?: unknown,
): UpgradeError {
  const { node, version, signal } = run;
  if (signal?.aborted) {
    return new UpgradeError("UPGRADE_ABORTED", `upgrade of ${node} was aborted during ${step}`, {
      node,
      step,
      version,
      cause: signal.reason,
    });
  }
  return new UpgradeError(code, `${node}: ${message}`, { node, step, version, cause });
}

/** Runs a step; any failure that is not already an UpgradeError becomes `code` at `step`. */
export async function guarded<T>(
  run: Pick<NodeRun, "node" | "version" | "signal">,
  code: UpgradeErrorCode,
  step: UpgradeStep,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof UpgradeError) throw error;
    throw stepError(run, code, step, `${what}: ${messageOf(error)}`, error);
  }
}

/** Attempts of a node call that rides through its endpoint restarting. */
const RESTART_ATTEMPTS = 5;

/**
 * Runs a node call again while it fails because the endpoint went away under
 * it (an apid restart: the call typed transient), with the run's reconnection
 * backoff, until `signal` fires. Only for calls whose repetition is harmless.
 */
export function ridingRestarts<T>(
  run: Pick<NodeRun, "options">,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  return retry(fn, {
    policy: {
      attempts: RESTART_ATTEMPTS,
      baseDelayMs: run.options.retryIntervalMs ?? 500,
      maxDelayMs: run.options.retryMaxIntervalMs ?? 5_000,
    },
    shouldRetry: isTransient,
    signal,
  });
}
