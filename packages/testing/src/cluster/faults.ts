// Faults a test injects into one node, and where the node's server applies
// them: before each call (delay, unreachable) and on server streams (drop).
import * as grpc from "@grpc/grpc-js";
import { status } from "./grpc.js";
import { sleep } from "./util.js";

/** Faults that apply to one node. */
export interface NodeFaults {
  delayMs: number;
  unreachable: boolean;
  dropStreamsAfterBytes: number | null;
  neverReturn: boolean;
  ignoreReboots: boolean;
  failPull: string | null;
  installerExitCode: number;
  etcdUnhealthy: boolean;
  /**
   * EtcdSnapshot streams a damaged snapshot and ends normally: "truncate" sends
   * only its first half, "corrupt" flips a byte of the database.
   */
  etcdSnapshotDamage: "truncate" | "corrupt" | null;
}

/** A node without faults: how every node starts, and what `faults.clear()` restores. */
export function noFaults(): NodeFaults {
  return {
    delayMs: 0,
    unreachable: false,
    dropStreamsAfterBytes: null,
    neverReturn: false,
    ignoreReboots: false,
    failPull: null,
    installerExitCode: 0,
    etcdUnhealthy: false,
    etcdSnapshotDamage: null,
  };
}

/** A snapshot as the fault leaves it. */
export function damageSnapshot(faults: NodeFaults, snapshot: Buffer): Buffer {
  if (faults.etcdSnapshotDamage === "truncate") return snapshot.subarray(0, snapshot.length >> 1);
  if (faults.etcdSnapshotDamage === "corrupt") {
    const copy = Buffer.from(snapshot);
    copy[copy.length >> 1] = (copy[copy.length >> 1] ?? 0) ^ 0xff;
    return copy;
  }
  return snapshot;
}

/** What the call gate reads of a node. */
export interface GatedNode {
  readonly address: string;
  readonly faults: NodeFaults;
  readonly isDown: boolean;
}

/** Refuses a call to a node that is down or unreachable, after the injected delay; checked again after it. */
export async function passCallFaults(node: GatedNode): Promise<void> {
  const refuse = () => {
    if (node.faults.unreachable || node.isDown)
      throw status(
        grpc.status.UNAVAILABLE,
        `connection refused: node ${node.address} is unreachable`,
      );
  };
  refuse();
  if (node.faults.delayMs > 0) await sleep(node.faults.delayMs);
  refuse();
}

/** Whether a stream that has sent `sent` bytes must be cut before sending `size` more. */
export function dropsStream(faults: NodeFaults, sent: number, size: number): boolean {
  const limit = faults.dropStreamsAfterBytes;
  return limit !== null && sent + size > limit;
}
