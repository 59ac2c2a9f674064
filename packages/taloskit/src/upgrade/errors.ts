// Upgrade failures: one error class with a stable code, the node and the step
// where the upgrade stopped, and the underlying cause. Like the client's
// TalosError, messages name nodes, versions and images, never credentials.
import { messageOf, TalosError } from "@taloskit/core";

/** Stable codes of UpgradeError. */
export const UPGRADE_ERROR_CODES = [
  /** The target version is not a version the factory offers (or is not a version). */
  "UPGRADE_TARGET_UNKNOWN",
  /** The target version is marked broken by the factory. */
  "UPGRADE_TARGET_BROKEN",
  /** The target is older than a node's version, or in another major line. */
  "UPGRADE_IMPOSSIBLE_JUMP",
  /** A minor release on the way has no usable (non-broken) patch at the factory. */
  "UPGRADE_NO_PATH",
  /** The nodes given leave out nodes of the cluster, and the caller did not say that a subset is meant. */
  "UPGRADE_PARTIAL_PLAN",
  /** A node's new schematic lacks a system extension the node runs now. */
  "UPGRADE_EXTENSIONS_LOST",
  /** After the reboot the node runs another platform or secure boot state than before. */
  "UPGRADE_PLATFORM_MISMATCH",
  /** The cluster's Kubernetes version is not supported by a Talos version on the path. */
  "UPGRADE_KUBERNETES_INCOMPATIBLE",
  /** A node's version, schematic, platform or role could not be read. */
  "UPGRADE_NODE_UNREADABLE",
  /** ImageService.Pull of the installer failed. */
  "UPGRADE_PULL_FAILED",
  /** LifecycleService.Upgrade ended with a non-zero installer exit code, or failed. */
  "UPGRADE_INSTALL_FAILED",
  /** The legacy MachineService.Upgrade was refused, or its upgrade sequence failed. */
  "UPGRADE_LEGACY_FAILED",
  /** The Reboot call failed. */
  "UPGRADE_REBOOT_FAILED",
  /** The node did not come back running and ready in time. */
  "UPGRADE_NODE_NOT_READY",
  /** After the reboot the node runs another version than the one installed. */
  "UPGRADE_VERSION_MISMATCH",
  /** After the reboot the node runs another schematic than the one installed. */
  "UPGRADE_SCHEMATIC_MISMATCH",
  /** The boot ID did not change: the node did not really reboot. */
  "UPGRADE_BOOT_ID_UNCHANGED",
  /** etcd is unhealthy or would lose quorum: the control-plane gate refused to go on. */
  "UPGRADE_ETCD_UNHEALTHY",
  /**
   * The etcd snapshot taken before the first control plane goes down (or the one
   * given to reuse) could not be taken, written or read back as a valid snapshot.
   */
  "UPGRADE_ETCD_SNAPSHOT_FAILED",
  /** The etcd leader did not hand its leadership to another member before its reboot. */
  "UPGRADE_ETCD_LEADERSHIP",
  /** A node was not healthy at a health gate between steps. */
  "UPGRADE_NODE_UNHEALTHY",
  /** Cordon, drain or uncordon through the Kubernetes API failed. */
  "UPGRADE_DRAIN_FAILED",
  /**
   * A node's Kubernetes Node was not Ready (or its kubelet reported another version)
   * in time after its reboot, or the Kubernetes gate found a node of the plan NotReady.
   */
  "UPGRADE_KUBERNETES_NOT_READY",
  /**
   * The Kubernetes gate found a disruption budget that allows no disruption now
   * covering pods of the nodes about to go down.
   */
  "UPGRADE_DISRUPTION_BUDGET",
  /** The caller aborted the upgrade. */
  "UPGRADE_ABORTED",
  /** An option or a plan is invalid. */
  "UPGRADE_INVALID_ARGUMENT",
  /** The state file of a run cannot be read, or is not a taloskit upgrade state (truncated, foreign). */
  "UPGRADE_STATE_INVALID",
  /** The state file records another plan: another target, other nodes or other installer images. */
  "UPGRADE_STATE_MISMATCH",
  /** The state file could not be written: the run stops before the next node. */
  "UPGRADE_STATE_WRITE_FAILED",
] as const;

export type UpgradeErrorCode = (typeof UPGRADE_ERROR_CODES)[number];

/** Where in a node's upgrade a failure happened. */
export type UpgradeStep =
  | "plan"
  | "snapshot"
  | "gate"
  | "cordon"
  | "drain"
  | "pull"
  | "install"
  | "legacy-upgrade"
  | "reboot"
  | "wait"
  | "verify"
  | "uncordon"
  /** Reading or writing the run's state file. */
  | "state";

export interface UpgradeErrorOptions {
  node?: string | undefined;
  step?: UpgradeStep | undefined;
  /** The Talos version the failing step was upgrading to. */
  version?: string | undefined;
  /** The installer was written to the node's disk and the node has not booted it yet. */
  installPending?: boolean | undefined;
  cause?: unknown;
}

/** Why an upgrade (or its planning) stopped. A {@link TalosError}. */
export class UpgradeError extends TalosError {
  override readonly name = "UpgradeError";
  /** Stable, machine-readable code. */
  declare readonly code: UpgradeErrorCode;
  /** The node the failure concerns, when one does. */
  declare readonly node: string | undefined;
  /** The step that failed, when a node upgrade was under way. */
  readonly step: UpgradeStep | undefined;
  /** The version being installed when it failed. */
  readonly version: string | undefined;
  /**
   * True when the upgrade stopped after the installer was written to the
   * node's disk and before the node booted it: the node's next reboot, for
   * any reason, activates `version`. The message says how to undo it.
   */
  readonly installPending: boolean;

  constructor(code: UpgradeErrorCode, message: string, options: UpgradeErrorOptions = {}) {
    super(code, message, { node: options.node, cause: options.cause });
    this.step = options.step;
    this.version = options.version;
    this.installPending = options.installPending ?? false;
  }
}

/**
 * The same failure, saying that the upgrade it stopped is installed on the
 * node and pending: what its next reboot does, and how to undo it.
 */
export function withPendingInstall(error: UpgradeError, running: string): UpgradeError {
  const node = error.node ?? "the node";
  const message =
    `${error.message}. The upgrade to Talos ${error.version} is installed on ${node} and pending: ` +
    `its next reboot, for any reason, boots it. To keep Talos ${running}, undo it first with ` +
    `\`talosctl rollback -n ${node}\` (MachineService.Rollback), or run the upgrade again to finish it`;
  return new UpgradeError(error.code, message, {
    node: error.node,
    step: error.step,
    version: error.version,
    installPending: true,
    cause: error.cause,
  });
}

/** A short reason from any error (message of Error, else its text); @taloskit/core's messageOf. */
export const reason: (error: unknown) => string = messageOf;
