// MachineService's power and upgrade calls: Reboot, Shutdown, Reset, and the
// legacy Upgrade that installs in the background and reboots into the new version.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { SequenceEventSchema } from "@taloskit/api/machine";
import type { EventLog } from "../events.js";
import type { NodeFaults } from "../faults.js";
import { status } from "../grpc.js";
import type { Impls, UnaryImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { sleep } from "../util.js";
import { stageUpgrade } from "./shared.js";

const { status: S } = grpc;
const M = "/machine.MachineService/";

/** What the power and upgrade calls use of a node. */
export interface LifecycleHost {
  readonly state: SimNodeState;
  readonly faults: Pick<NodeFaults, "etcdUnhealthy" | "failPull" | "installerExitCode">;
  readonly events: Pick<EventLog, "publish">;
  setStage(stage: SimNodeState["stage"], ready: boolean, actorId?: string): void;
  reboot(actorId: string, sequence?: string): void;
  shutdown(actorId: string, sequence?: string): void;
}

interface UpgradeRequest {
  image: string;
  preserve: boolean;
  stage: boolean;
  force: boolean;
}

function legacyUpgrade(node: LifecycleHost, req: UpgradeRequest) {
  const st = node.state;
  const faults = node.faults;
  if (st.maintenance) throw status(S.FAILED_PRECONDITION, "system is not installed");
  if (!req.image) throw status(S.INVALID_ARGUMENT, "image is required");
  if (
    st.role === "controlplane" &&
    !req.force &&
    !req.preserve &&
    (faults.etcdUnhealthy || st.etcd?.healthy === false)
  ) {
    throw status(S.FAILED_PRECONDITION, "etcd member is not healthy; refusing to upgrade");
  }
  const actorId = randomUUID();
  const publish = (init: Record<string, unknown>) =>
    node.events.publish(SequenceEventSchema, { sequence: "upgrade", ...init }, actorId);
  void (async () => {
    publish({ action: 1 });
    node.setStage("upgrading", false, actorId);
    await sleep(20);
    if (faults.failPull !== null || faults.installerExitCode !== 0) {
      const why =
        faults.failPull !== null
          ? `failed to pull image: ${faults.failPull || "not found"}`
          : `installer exited with code ${faults.installerExitCode}`;
      publish({ action: 2, error: { code: 0, message: why } });
      node.setStage("running", true, actorId);
      return;
    }
    stageUpgrade(st, req.image);
    publish({ action: 2 });
    node.reboot(actorId);
  })();
  return { messages: [{ ack: "Upgrade request received", actorId }] };
}

interface ResetRequest {
  graceful: boolean;
  reboot: boolean;
  systemPartitionsToWipe: { label: string; wipe: boolean }[];
  userDisksToWipe: string[];
  mode: number;
}

const WIPE_MODES = ["all", "system-disk", "user-disks"];
/** The system partitions a reset may name, and what a reset with none named wipes. */
const SYSTEM_LABELS = ["EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"];

/**
 * Reset: what it wipes is recorded; a wiped STATE (or a whole system disk)
 * leaves the node unconfigured, so it comes back in maintenance mode, or stays
 * off unless asked to reboot; its etcd membership goes with its data.
 */
function reset(node: LifecycleHost, req: ResetRequest) {
  const st = node.state;
  if (st.maintenance) throw status(S.PERMISSION_DENIED, "not authorized");
  const mode = WIPE_MODES[req.mode] ?? "all";
  for (const p of req.systemPartitionsToWipe) {
    if (!SYSTEM_LABELS.includes(p.label))
      throw status(S.INVALID_ARGUMENT, `partition ${JSON.stringify(p.label)} not found`);
  }
  if (mode === "user-disks" && req.systemPartitionsToWipe.length > 0)
    throw status(S.INVALID_ARGUMENT, "system partitions can't be wiped in user-disks mode");
  const labels = req.systemPartitionsToWipe.filter((p) => p.wipe).map((p) => p.label);
  const wipesState = mode !== "user-disks" && (labels.length === 0 || labels.includes("STATE"));
  st.lastReset = {
    graceful: req.graceful,
    reboot: req.reboot,
    mode,
    labels,
    userDisks: [...req.userDisksToWipe],
  };
  const actorId = randomUUID();
  node.setStage("resetting", false, actorId);
  if (wipesState) {
    st.maintenance = true;
    st.config = "";
    st.stagedConfig = undefined;
    st.etcd = undefined;
    st.etcdBootstrapped = undefined;
    st.services = st.services.filter((s) => ["apid", "machined", "udevd"].includes(s.id));
  }
  if (req.reboot) node.reboot(actorId, "reset");
  else node.shutdown(actorId, "reset");
  return { messages: [{ actorId }] };
}

/** Reboot, Shutdown, Reset and Upgrade. */
export function lifecycleImpls(node: LifecycleHost): Impls {
  return {
    [`${M}Reboot`]: () => {
      if (node.state.maintenance) throw status(S.PERMISSION_DENIED, "not authorized");
      const actorId = randomUUID();
      node.reboot(actorId);
      return { messages: [{ actorId }] };
    },
    [`${M}Shutdown`]: () => {
      if (node.state.maintenance) throw status(S.PERMISSION_DENIED, "not authorized");
      const actorId = randomUUID();
      node.shutdown(actorId);
      return { messages: [{ actorId }] };
    },
    [`${M}Reset`]: ((req: ResetRequest) => reset(node, req)) as UnaryImpl,
    [`${M}Upgrade`]: ((req: UpgradeRequest) => legacyUpgrade(node, req)) as UnaryImpl,
  };
}
