// Checks and stream helpers that several service modules share.
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { CallContext, Send } from "../handlers.js";
import { parseInstallerImage, type SimNodeState } from "../state.js";

const { status: S } = grpc;

/** Sends bytes as `common.Data` messages of at most `chunk` bytes. */
export async function sendData(bytes: Uint8Array, send: Send, chunk = 4096): Promise<void> {
  for (let i = 0; i < bytes.length; i += chunk) await send({ bytes: bytes.subarray(i, i + chunk) });
}

/** Resolves when the call ends (a following stream stays open until then). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((r) =>
    signal.aborted ? r() : signal.addEventListener("abort", () => r()),
  );
}

/** Refuses calls that only a control plane running etcd serves. */
export function requireEtcd(st: Pick<SimNodeState, "role" | "etcd">): void {
  if (st.role !== "controlplane" || !st.etcd)
    throw status(S.FAILED_PRECONDITION, "etcd is not running on this node");
}

/**
 * Calls that the Talos role table opens to os:reader only so that they work
 * in maintenance mode: on a configured node they need os:admin.
 */
export function requireAdminUnlessMaintenance(
  st: Pick<SimNodeState, "maintenance">,
  ctx: CallContext,
): void {
  if (!st.maintenance && !ctx.roles.has("os:admin"))
    throw status(S.PERMISSION_DENIED, "not authorized");
}

/** Stages an installer image for the next reboot: its tag and schematic, where it names them. */
export function stageUpgrade(st: SimNodeState, image: string): void {
  const p = parseInstallerImage(image);
  st.pendingUpgrade = {
    image,
    version: p.version ?? st.version,
    schematic: p.schematic ?? st.schematic,
    // Factory installers name their platform; a plain installer keeps the node's.
    platform: p.schematic ? p.platform : undefined,
  };
}
