// Putting the new version on a node and rebooting it. On Talos 1.13 and newer:
// ImageService.Pull of the installer, LifecycleService.Upgrade (which writes it
// to disk and reports an exit code), the caller's beforeReboot hook, then
// Reboot. Older nodes: the hook, then the legacy MachineService.Upgrade, which
// reboots by itself. Either way the event stream is opened before the reboot
// is asked for, so that the reboot watch misses nothing.

import { isTransient } from "@taloskit/client";
import type { UpgradeErrorCode, UpgradeStep } from "./errors.js";
import { readBootId, readMachineStatus } from "./inspect.js";
import {
  DEFAULT_CONTAINERD,
  legacyUpgrade,
  pullImage,
  rebootNode,
  runInstaller,
} from "./node-api.js";
import {
  guarded,
  hookSignal,
  type NodeRun,
  ridingRestarts,
  stepError,
  within,
} from "./node-run.js";
import { EventWatch } from "./reboot-watch.js";

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

/** The caller's hook (cordon and drain) before the reboot; its failures are drain failures. */
async function beforeReboot(run: NodeRun): Promise<void> {
  const hook = run.options.beforeReboot;
  if (!hook) return;
  await guarded(run, "UPGRADE_DRAIN_FAILED", "drain", "draining before the reboot failed", () =>
    hook(hookSignal(run)),
  );
}

/**
 * Pull, install, hook, reboot. Resolves with the event stream opened before the
 * reboot. `bootId` is the node's boot ID before, when known.
 */
export async function installWithLifecycle(
  run: NodeRun,
  bootId: string | undefined,
): Promise<EventWatch> {
  const { client, node, version, target, timeouts: t, emit } = run;
  const containerd = run.options.containerd ?? DEFAULT_CONTAINERD;

  // Pulling and writing the installer again is harmless before the reboot: both
  // ride through the endpoint restarting under them.
  // The pull, the longest part, comes before the hook (cordon and drain), so
  // that the node's workloads are away only for the reboot itself.
  emit({ type: "step", node, step: "pull", version, detail: target.image });
  const pullStarted = Date.now();
  const pulling = within(run, t.pullMs);
  await guarded(run, "UPGRADE_PULL_FAILED", "pull", `pulling ${target.image} failed`, () =>
    ridingRestarts(run, pulling, () =>
      pullImage(
        client,
        node,
        target.image,
        containerd,
        { signal: pulling, timeoutMs: t.pullMs },
        (p) => emit({ type: "pull-progress", node, ...p }),
      ),
    ),
  );

  emit({ type: "pull-done", node, image: target.image, durationMs: Date.now() - pullStarted });

  emit({ type: "step", node, step: "install", version, detail: target.image });
  const installing = within(run, t.installMs);
  const exitCode = await guarded(
    run,
    "UPGRADE_INSTALL_FAILED",
    "install",
    "LifecycleService.Upgrade failed",
    () =>
      ridingRestarts(run, installing, () =>
        runInstaller(
          client,
          node,
          target.image,
          containerd,
          { signal: installing, timeoutMs: t.installMs },
          (message) => emit({ type: "install-output", node, message }),
        ),
      ),
  );
  if (exitCode === undefined) {
    throw stepError(
      run,
      "UPGRADE_INSTALL_FAILED",
      "install",
      "the installer stream ended without an exit code",
    );
  }
  if (exitCode !== 0) {
    throw stepError(
      run,
      "UPGRADE_INSTALL_FAILED",
      "install",
      `the installer exited with code ${exitCode} (${INSTALLER_EXIT[exitCode] ?? "unknown"}); the node was not rebooted`,
    );
  }

  run.progress.installed = true;
  await beforeReboot(run);

  const mode = run.options.rebootMode ?? "default";
  emit({ type: "step", node, step: "reboot", version, detail: mode });
  return watchThen(run, "UPGRADE_REBOOT_FAILED", "reboot", "Reboot failed", bootId, () =>
    rebootNode(client, node, mode, { signal: run.signal, timeoutMs: t.callMs }),
  );
}

/**
 * Hook, then MachineService.Upgrade. Resolves with the event stream opened before the call.
 *
 * The installer cannot be pulled before the drain here. MachineService.Upgrade
 * pulls it into the system containerd (its own socket, namespace "system")
 * and would reuse it from there if present, but the only pull an older node
 * offers, MachineService.ImagePull, always goes to the CRI containerd (the
 * namespace only picks "system" or "k8s.io" inside that daemon), whose
 * content store the system containerd does not share (Talos
 * internal/app/machined/internal/server/v1alpha1: ImagePull connects to
 * CRIContainerdAddress; internal/pkg/install PullAndValidateInstallerImage to
 * SystemContainerdAddress). ImageService.Pull, which can target the system
 * instance, exists from 1.13 only, where the lifecycle path is used.
 */
export async function installWithLegacyUpgrade(
  run: NodeRun,
  bootId: string | undefined,
): Promise<EventWatch> {
  const { client, node, version, target, emit } = run;
  await beforeReboot(run);
  emit({ type: "step", node, step: "legacy-upgrade", version, detail: target.image });
  return watchThen(
    run,
    "UPGRADE_LEGACY_FAILED",
    "legacy-upgrade",
    "MachineService.Upgrade failed",
    bootId,
    async () => {
      await legacyUpgrade(
        client,
        node,
        { image: target.image, ...run.options.legacy },
        { signal: run.signal, timeoutMs: run.timeouts.callMs },
      );
      // The node took the upgrade: it installs and reboots by itself.
      run.progress.installed = true;
    },
  );
}

/**
 * Opens the node's event stream, then makes the call that reboots it (so the
 * watch misses nothing of the reboot). Resolves with the stream; closes it
 * when the call fails. Failures are `code` at `step`.
 *
 * The endpoint restarting under the call (a transient failure) leaves it
 * unknown whether the node took it: the node is asked. When it went down,
 * is going down or booted since, the call took and the reboot watch follows
 * it; when it still runs the boot it ran before, the call is made once more.
 */
async function watchThen(
  run: NodeRun,
  code: UpgradeErrorCode,
  step: UpgradeStep,
  what: string,
  bootId: string | undefined,
  call: () => Promise<void>,
): Promise<EventWatch> {
  const watch = await guarded(run, code, step, "cannot watch events", () =>
    ridingRestarts(run, run.signal, () => EventWatch.open(run.client, run.node, 0, run.signal)),
  );
  try {
    await guarded(run, code, step, what, async () => {
      try {
        await call();
      } catch (error) {
        if (!isTransient(error) || (await rebootTook(run, bootId))) return;
        await call();
      }
    });
  } catch (error) {
    watch.close();
    throw error;
  }
  return watch;
}

/**
 * Whether a node took a call that reboots it: it is no longer running the
 * boot it ran before (another stage, another boot ID), or it cannot be
 * reached (it went down). Unknown when the boot ID was not read before: then
 * only a running stage says it did not.
 */
async function rebootTook(run: NodeRun, bootId: string | undefined): Promise<boolean> {
  const options = { signal: run.signal, timeoutMs: run.timeouts.callMs };
  try {
    const status = await readMachineStatus(run.client, run.node, options);
    if (status.stage !== "running") return true;
    if (bootId === undefined) return false;
    return (await readBootId(run.client, run.node, run.version, options)) !== bootId;
  } catch (error) {
    if (isTransient(error)) return true;
    throw error;
  }
}
