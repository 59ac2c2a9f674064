// Upgrading one node. On Talos 1.13 and newer: ImageService.Pull of the
// installer, LifecycleService.Upgrade (which writes it to disk and reports an
// exit code), then Reboot. Older nodes get the legacy MachineService.Upgrade,
// which reboots by itself. Either way the node is followed through the reboot
// on its event stream, reconnecting while it is down, until MachineStatus says
// running and ready with a new boot ID; then its version and schematic are
// checked (and the caller's afterReboot hook runs: the Kubernetes node's
// readiness in a rolling upgrade). Nothing more is done to a node after a step fails.
import { setTimeout as sleep } from "node:timers/promises";
import { ContainerDriver, ContainerdNamespace } from "@taloskit/api/common";
import {
  type MachineEvent,
  MachineStatusEvent_MachineStage,
  RebootRequest_Mode,
  UpgradeRequest_RebootMode,
} from "@taloskit/api/machine";
import { decodeEvent, type TalosClient } from "@taloskit/client";
import { atLeastMinor, compareVersions, tryParseTalosVersion } from "@taloskit/factory";
import { reason, UpgradeError, type UpgradeErrorCode, type UpgradeStep } from "./errors.js";
import { emitter, type UpgradeListener, type UpgradeMethod } from "./events.js";
import { type NodeFacts, readBootId, readNodeFacts } from "./inspect.js";

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
  rebootMode?: "default" | "powercycle" | "force";
  /** Options of the legacy MachineService.Upgrade. */
  legacy?: {
    stage?: boolean;
    preserve?: boolean;
    force?: boolean;
    rebootMode?: "default" | "powercycle";
  };
  /** The containerd instance to pull into (default: CRI driver, system namespace, as talosctl). */
  containerd?: { driver: ContainerDriver; namespace: ContainerdNamespace };
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

const DEFAULTS = { callMs: 30_000, pullMs: 600_000, installMs: 600_000, rebootMs: 900_000 };

/** Chooses the upgrade method for a node version. */
export function methodFor(version: string, requested: UpgradeNodeOptions["method"]): UpgradeMethod {
  if (requested === "lifecycle" || requested === "legacy") return requested;
  return tryParseTalosVersion(version) && atLeastMinor(version, "1.13") ? "lifecycle" : "legacy";
}

/** A signal that aborts with the caller's signal or after `ms`. */
function deadline(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, t]) : t;
}

/** Upgrades one node to `target` and waits until it runs it. Throws UpgradeError. */
export async function upgradeNode(
  client: TalosClient,
  node: string,
  target: InstallTarget,
  options: UpgradeNodeOptions = {},
): Promise<NodeUpgradeResult> {
  const started = Date.now();
  const emit = emitter(options.onEvent);
  const t = { ...DEFAULTS, ...options.timeouts };
  const signal = options.signal;
  const version = target.version;

  // Turns any failure of a step into an UpgradeError for this node and step.
  const fail = (code: UpgradeErrorCode, step: UpgradeStep, message: string, cause?: unknown) => {
    if (signal?.aborted) {
      return new UpgradeError("UPGRADE_ABORTED", `upgrade of ${node} was aborted during ${step}`, {
        node,
        step,
        version,
        cause: signal.reason,
      });
    }
    return new UpgradeError(code, `${node}: ${message}`, { node, step, version, cause });
  };
  const guard = async <T>(
    code: UpgradeErrorCode,
    step: UpgradeStep,
    what: string,
    fn: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof UpgradeError) throw error;
      throw fail(code, step, `${what}: ${reason(error)}`, error);
    }
  };

  const facts =
    options.facts ??
    (await guard("UPGRADE_NODE_UNREADABLE", "plan", "cannot read the node", () =>
      readNodeFacts(client, node, { signal, timeoutMs: t.callMs }),
    ));
  const method = methodFor(facts.version, options.method);
  emit({ type: "node-start", node, from: facts.version, to: version, image: target.image, method });
  const call = (ms: number, s: AbortSignal | undefined = signal) => ({
    node,
    signal: s,
    timeoutMs: ms,
  });

  // The caller's hook (cordon and drain) runs before the reboot; its failures are drain failures.
  const drain = async () => {
    const hook = options.beforeReboot;
    if (!hook) return;
    await guard("UPGRADE_DRAIN_FAILED", "drain", "draining before the reboot failed", () =>
      hook(signal ?? new AbortController().signal),
    );
  };

  let watch: EventWatch | undefined;
  try {
    if (method === "lifecycle") {
      const containerd = options.containerd ?? {
        driver: ContainerDriver.CRI,
        namespace: ContainerdNamespace.NS_SYSTEM,
      };
      emit({ type: "step", node, step: "pull", version, detail: target.image });
      await guard("UPGRADE_PULL_FAILED", "pull", `pulling ${target.image} failed`, async () => {
        const s = deadline(signal, t.pullMs);
        for await (const r of client.image.pull(
          { containerd, imageRef: target.image },
          call(t.pullMs, s),
        )) {
          if (r.response.case === "pullProgress") {
            const p = r.response.value;
            emit({
              type: "pull-progress",
              node,
              layer: p.layerId,
              offset: Number(p.progress?.offset ?? 0n),
              total: Number(p.progress?.total ?? 0n),
            });
          }
        }
      });

      emit({ type: "step", node, step: "install", version, detail: target.image });
      const exitCode = await guard(
        "UPGRADE_INSTALL_FAILED",
        "install",
        "LifecycleService.Upgrade failed",
        async () => {
          const s = deadline(signal, t.installMs);
          let code: number | undefined;
          for await (const r of client.lifecycle.upgrade(
            { containerd, source: { imageName: target.image } },
            call(t.installMs, s),
          )) {
            const p = r.progress?.response;
            if (p?.case === "message") emit({ type: "install-output", node, message: p.value });
            else if (p?.case === "exitCode") code = p.value;
          }
          return code;
        },
      );
      if (exitCode === undefined) {
        throw fail(
          "UPGRADE_INSTALL_FAILED",
          "install",
          "the installer stream ended without an exit code",
        );
      }
      if (exitCode !== 0) {
        throw fail(
          "UPGRADE_INSTALL_FAILED",
          "install",
          `the installer exited with code ${exitCode} (${INSTALLER_EXIT[exitCode] ?? "unknown"}); the node was not rebooted`,
        );
      }

      await drain();

      emit({
        type: "step",
        node,
        step: "reboot",
        version,
        detail: options.rebootMode ?? "default",
      });
      watch = await guard("UPGRADE_REBOOT_FAILED", "reboot", "cannot watch events", () =>
        EventWatch.open(client, node, 0, signal),
      );
      const mode = {
        default: RebootRequest_Mode.DEFAULT,
        powercycle: RebootRequest_Mode.POWERCYCLE,
        force: RebootRequest_Mode.FORCE,
      }[options.rebootMode ?? "default"];
      await guard("UPGRADE_REBOOT_FAILED", "reboot", "Reboot failed", () =>
        client.machine.reboot({ mode }, call(t.callMs)),
      );
    } else {
      await drain();
      emit({ type: "step", node, step: "legacy-upgrade", version, detail: target.image });
      watch = await guard("UPGRADE_LEGACY_FAILED", "legacy-upgrade", "cannot watch events", () =>
        EventWatch.open(client, node, 0, signal),
      );
      const l = options.legacy ?? {};
      await guard("UPGRADE_LEGACY_FAILED", "legacy-upgrade", "MachineService.Upgrade failed", () =>
        client.machine.upgrade(
          {
            image: target.image,
            stage: l.stage ?? false,
            preserve: l.preserve ?? false,
            force: l.force ?? false,
            rebootMode:
              l.rebootMode === "powercycle"
                ? UpgradeRequest_RebootMode.POWERCYCLE
                : UpgradeRequest_RebootMode.DEFAULT,
          },
          call(t.callMs),
        ),
      );
    }

    emit({ type: "step", node, step: "wait", version, detail: "waiting for the node to return" });
    const bootId = await waitForReboot(client, node, watch, {
      previousBootId: facts.bootId,
      legacy: method === "legacy",
      signal,
      timeoutMs: t.rebootMs,
      callMs: t.callMs,
      retryMs: options.retryIntervalMs ?? 500,
      retryMaxMs: options.retryMaxIntervalMs ?? 5_000,
      emit,
      version,
    });
    watch = undefined;

    emit({ type: "step", node, step: "verify", version, detail: "version, schematic, boot ID" });
    const after = await guard("UPGRADE_NODE_UNREADABLE", "verify", "cannot read the node", () =>
      readNodeFacts(client, node, { signal, timeoutMs: t.callMs }),
    );
    if (compareVersions(after.version, version) !== 0) {
      throw fail(
        "UPGRADE_VERSION_MISMATCH",
        "verify",
        `the node came back with Talos ${after.version}, not ${version} (did the installer image carry another version?)`,
      );
    }
    if (after.schematic !== target.schematic) {
      throw fail(
        "UPGRADE_SCHEMATIC_MISMATCH",
        "verify",
        `the node came back with schematic ${after.schematic}, not ${target.schematic}`,
      );
    }
    const newBoot = after.bootId ?? bootId;
    if (facts.bootId && newBoot && newBoot === facts.bootId) {
      throw fail(
        "UPGRADE_BOOT_ID_UNCHANGED",
        "verify",
        "the boot ID did not change: the node did not reboot",
      );
    }
    const hook = options.afterReboot;
    if (hook) {
      await guard("UPGRADE_KUBERNETES_NOT_READY", "wait", "waiting after the reboot failed", () =>
        hook(signal ?? new AbortController().signal),
      );
    }
    const result: NodeUpgradeResult = {
      node,
      from: facts.version,
      version: after.version,
      schematic: after.schematic,
      bootId: newBoot,
      method,
      durationMs: Date.now() - started,
    };
    emit({
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
    const err =
      error instanceof UpgradeError
        ? error
        : fail("UPGRADE_NODE_UNREADABLE", "plan", reason(error), error);
    emit({ type: "node-failed", node, error: err });
    throw err;
  }
}

/** Installer exit codes, a stable public API of the Talos installer. */
const INSTALLER_EXIT: Record<number, string> = {
  1: "unknown error",
  2: "invalid input",
  3: "unsupported",
  4: "environment",
  5: "dependency",
  6: "I/O",
  7: "install",
};

/** A machine event stream that is already live (its hello event was received). */
class EventWatch {
  private constructor(
    private readonly iterator: AsyncIterator<MachineEvent>,
    private readonly controller: AbortController,
    private pending: MachineEvent | undefined,
  ) {}

  static async open(
    client: TalosClient,
    node: string,
    tailEvents: number,
    signal: AbortSignal | undefined,
  ): Promise<EventWatch> {
    const controller = new AbortController();
    const s = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    // No client retries: waitForReboot reconnects on its own schedule, within its own deadline.
    const it = client.machine
      .events({ tailEvents }, { node, signal: s, retry: false })
      [Symbol.asyncIterator]();
    try {
      const first = await it.next();
      if (first.done) throw new Error("the event stream ended at once");
      const hello = !first.value.data && !first.value.id;
      return new EventWatch(it, controller, hello ? undefined : first.value);
    } catch (error) {
      controller.abort();
      throw error;
    }
  }

  async next(): Promise<MachineEvent | undefined> {
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    const r = await this.iterator.next();
    return r.done ? undefined : r.value;
  }

  close(): void {
    this.controller.abort();
    void this.iterator.return?.().catch(() => undefined);
  }
}

interface WaitContext {
  previousBootId: string | undefined;
  legacy: boolean;
  signal: AbortSignal | undefined;
  timeoutMs: number;
  callMs: number;
  retryMs: number;
  retryMaxMs: number;
  emit: ReturnType<typeof emitter>;
  version: string;
}

const STAGES: Record<number, string> = {
  [MachineStatusEvent_MachineStage.UNKNOWN]: "unknown",
  [MachineStatusEvent_MachineStage.BOOTING]: "booting",
  [MachineStatusEvent_MachineStage.INSTALLING]: "installing",
  [MachineStatusEvent_MachineStage.MAINTENANCE]: "maintenance",
  [MachineStatusEvent_MachineStage.RUNNING]: "running",
  [MachineStatusEvent_MachineStage.REBOOTING]: "rebooting",
  [MachineStatusEvent_MachineStage.SHUTTING_DOWN]: "shutting down",
  [MachineStatusEvent_MachineStage.RESETTING]: "resetting",
  [MachineStatusEvent_MachineStage.UPGRADING]: "upgrading",
};

/**
 * Follows a node through a reboot on its event stream until MachineStatus is
 * running and ready with a new boot ID (or, when the boot ID cannot be read,
 * after the stream dropped). Reconnects with backoff while the node is down.
 * Returns the new boot ID when known.
 */
async function waitForReboot(
  client: TalosClient,
  node: string,
  first: EventWatch | undefined,
  ctx: WaitContext,
): Promise<string | undefined> {
  const limit = deadline(ctx.signal, ctx.timeoutMs);
  let watch = first;
  let dropped = false;
  let attempt = 0;
  let lastError = "";
  const err = (code: UpgradeErrorCode, message: string, cause?: unknown) =>
    new UpgradeError(code, `${node}: ${message}`, {
      node,
      step: "wait",
      version: ctx.version,
      cause,
    });
  const timedOut = () =>
    ctx.signal?.aborted
      ? new UpgradeError("UPGRADE_ABORTED", `upgrade of ${node} was aborted while it rebooted`, {
          node,
          step: "wait",
          version: ctx.version,
          cause: ctx.signal.reason,
        })
      : err(
          "UPGRADE_NODE_NOT_READY",
          `the node did not come back running and ready within ${ctx.timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ""}`,
        );
  // The deadline closes whichever stream is open: a node that accepted the reboot
  // but never drops the first stream must not keep this wait alive.
  const onLimit = () => watch?.close();
  limit.addEventListener("abort", onLimit, { once: true });
  try {
    for (;;) {
      try {
        if (!watch) watch = await EventWatch.open(client, node, -1, limit);
        for (;;) {
          const ev = await watch.next();
          if (!ev) break;
          const d = decodeEvent(ev);
          const p = d.payload as Record<string, unknown> | undefined;
          if (!p) continue;
          if (d.type === "machine.SequenceEvent") {
            const message = (p.error as { message?: string } | undefined)?.message;
            if (message) {
              const seq = String(p.sequence);
              throw err(
                ctx.legacy && /upgrade/i.test(seq)
                  ? "UPGRADE_LEGACY_FAILED"
                  : "UPGRADE_NODE_NOT_READY",
                `sequence "${seq}" failed: ${message}`,
              );
            }
          } else if (d.type === "machine.MachineStatusEvent") {
            const stage = STAGES[Number(p.stage)] ?? "unknown";
            const ready = (p.status as { ready?: boolean } | undefined)?.ready === true;
            ctx.emit({ type: "machine-status", node, stage, ready });
            if (stage !== "running" || !ready) continue;
            if (ctx.previousBootId) {
              const now = await readBootId(client, node, ctx.version, {
                signal: limit,
                timeoutMs: ctx.callMs,
              }).catch(() => undefined);
              if (now && now !== ctx.previousBootId) return now;
            } else if (dropped) {
              return undefined;
            }
          }
        }
        lastError = "the event stream ended";
      } catch (error) {
        if (error instanceof UpgradeError) throw error;
        if (limit.aborted) throw timedOut();
        lastError = reason(error);
      }
      watch?.close();
      watch = undefined;
      dropped = true;
      attempt++;
      ctx.emit({ type: "reconnect", node, attempt, reason: lastError });
      try {
        await sleep(
          Math.min(ctx.retryMs * 2 ** Math.min(attempt - 1, 8), ctx.retryMaxMs),
          undefined,
          { signal: limit },
        );
      } catch {
        throw timedOut();
      }
    }
  } finally {
    limit.removeEventListener("abort", onLimit);
    watch?.close();
  }
}
