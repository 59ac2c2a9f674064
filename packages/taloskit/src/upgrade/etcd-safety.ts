// etcd safety of a rolling upgrade beside the gates: one snapshot saved and
// read back before the first control plane goes down, and, just before a
// control plane reboots, moving etcd leadership off it.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { messageOf, pollUntil } from "@taloskit/core";
import { UpgradeError } from "./errors.js";
import { verifyEtcdSnapshot } from "./etcd-snapshot.js";
import {
  type EtcdMemberState,
  etcdMembers,
  etcdSnapshotStream,
  etcdStatus,
  etcdStatuses,
  forfeitEtcdLeadership,
} from "./node-api.js";
import type { RunContext } from "./run-context.js";

/** An etcd member ID as talosctl prints it. */
const memberHex = (id: bigint): string => id.toString(16).padStart(16, "0");

/**
 * How far the snapshot's database may be from the size the member reported
 * just before. EtcdStatus's db size is the size of the member's bbolt file
 * (its high-water mark), and a snapshot is that file copied in one read
 * transaction, so with no write in between the two are equal to the byte.
 * The cluster keeps writing while we stream (the file grows by pages; a
 * defragmentation shrinks it), so the check allows a quarter of the reported
 * size, or 8 MiB on small databases: it catches a snapshot of another or an
 * empty database, while truncation and corruption are caught by the hash.
 */
export function sizeMismatch(dbBytes: number, reported: bigint): string | undefined {
  const want = Number(reported);
  if (want <= 0) return undefined;
  const slack = Math.max(want / 4, 8 * 1024 * 1024);
  if (Math.abs(dbBytes - want) <= slack) return undefined;
  return `its database has ${dbBytes} bytes but the member reported ${want}`;
}

/**
 * A failed snapshot. It names the member's node in the message only: the run
 * record marks the node an error names as failed, and no node was touched.
 */
function failed(detail: string, cause?: unknown): UpgradeError {
  return new UpgradeError("UPGRADE_ETCD_SNAPSHOT_FAILED", detail, { step: "snapshot", cause });
}

/** The default file name: the first control plane's host name and the time, in UTC. */
function defaultName(ctx: RunContext): string {
  const cp = ctx.plan.nodes.find((n) => n.role === "controlplane");
  const host = (cp?.hostname || cp?.node || "cluster").replace(/[^A-Za-z0-9._-]/g, "_");
  const time = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  return `etcd-${host}-${time}.snapshot`;
}

/**
 * Control planes of the plan whose member can give the snapshot: EtcdStatus
 * answered, no errors, a voting member. The first control plane to go down
 * comes last: it is about to restart.
 */
async function snapshotSources(
  ctx: RunContext,
): Promise<{ node: string; status: EtcdMemberState }[]> {
  const firstDown = ctx.plan.nodes.find((n) => n.role === "controlplane" && n.action !== "skip");
  const results = await etcdStatuses(ctx.client, ctx.controlPlanes, {
    signal: ctx.signal,
    timeoutMs: ctx.callMs,
  });
  const healthy = results.flatMap((r) =>
    "value" in r && r.value.errors.length === 0 && !r.value.isLearner
      ? [{ node: r.node, status: r.value }]
      : [],
  );
  return [
    ...healthy.filter((h) => h.node !== firstDown?.node),
    ...healthy.filter((h) => h.node === firstDown?.node),
  ];
}

/** Streams the snapshot to a temporary file beside `path`, fsyncs it and returns its name. */
async function streamToTemp(ctx: RunContext, node: string, path: string, timeoutMs: number) {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.part`);
  const signal = AbortSignal.any([
    AbortSignal.timeout(timeoutMs),
    ...(ctx.signal ? [ctx.signal] : []),
  ]);
  const fh = await open(temp, "wx", 0o600);
  try {
    for await (const chunk of etcdSnapshotStream(ctx.client, node, signal)) await fh.write(chunk);
    await fh.sync();
  } catch (error) {
    await fh.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
  await fh.close();
  return temp;
}

/** fsync of the directory, so that the rename survives a crash (where the platform allows it). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r").catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close();
}

/**
 * The run's etcd snapshot, before any control plane goes down: taken from a
 * healthy member, or verified and reused. Returns its path (undefined when off
 * or when no control plane of the plan will be upgraded). A failure is
 * UPGRADE_ETCD_SNAPSHOT_FAILED, and no node has been touched.
 */
export async function saveEtcdSnapshot(ctx: RunContext): Promise<string | undefined> {
  const o = ctx.options.etcdSnapshot;
  if (o === false) return undefined;
  if (!ctx.plan.nodes.some((n) => n.role === "controlplane" && n.action !== "skip"))
    return undefined;
  if (ctx.signal?.aborted)
    throw new UpgradeError("UPGRADE_ABORTED", "the upgrade was aborted before the etcd snapshot", {
      step: "snapshot",
      cause: ctx.signal.reason,
    });
  const t0 = Date.now();
  if (o?.reuse) {
    if (!o.path) throw failed("reusing an etcd snapshot needs its path");
    const path = resolve(o.path);
    const info = await verifyEtcdSnapshot(path);
    ctx.emit({
      type: "etcd-snapshot",
      path,
      bytes: info.size,
      node: undefined,
      member: undefined,
      reused: true,
      durationMs: Date.now() - t0,
    });
    return path;
  }
  // Absolute, so that the summary names the file wherever it is read.
  const path = resolve(o?.path ?? join(o?.dir ?? tmpdir(), defaultName(ctx)));
  const source = (await snapshotSources(ctx))[0];
  if (!source)
    throw failed(
      "no control plane has a healthy etcd member to take the snapshot from: refusing to upgrade without one",
    );
  const { node, status } = source;
  let temp: string;
  try {
    temp = await streamToTemp(ctx, node, path, o?.timeoutMs ?? 600_000);
  } catch (error) {
    if (ctx.signal?.aborted)
      throw new UpgradeError("UPGRADE_ABORTED", "aborted while saving the etcd snapshot", {
        step: "snapshot",
        cause: error,
      });
    throw failed(
      `saving the etcd snapshot of ${node} to ${path} failed: ${messageOf(error)}`,
      error,
    );
  }
  const discard = async (error: unknown) => {
    await rm(temp, { force: true });
    return error;
  };
  const info = await verifyEtcdSnapshot(temp, `the etcd snapshot streamed by ${node}`).catch(
    async (error: unknown) => {
      throw await discard(error);
    },
  );
  const mismatch = sizeMismatch(info.dbSize, status.dbSize);
  if (mismatch)
    throw await discard(
      failed(`the etcd snapshot streamed by ${node} is not consistent: ${mismatch}`),
    );
  await rename(temp, path).catch(async (error: unknown) => {
    throw await discard(
      failed(`cannot write the etcd snapshot to ${path}: ${messageOf(error)}`, error),
    );
  });
  await syncDir(dirname(path));
  ctx.emit({
    type: "etcd-snapshot",
    path,
    bytes: info.size,
    node,
    member: memberHex(status.memberId),
    reused: false,
    durationMs: Date.now() - t0,
  });
  return path;
}

/**
 * Just before control plane `node` reboots: when its etcd member leads, asks
 * it to hand leadership on (EtcdForfeitLeadership) and waits until EtcdStatus
 * names another leader. A single-member etcd cannot: a warning event, and the
 * upgrade goes on. Failures are UPGRADE_ETCD_LEADERSHIP.
 */
export async function moveEtcdLeadership(
  ctx: RunContext,
  node: string,
  signal: AbortSignal,
): Promise<void> {
  const call = { signal, timeoutMs: ctx.callMs };
  try {
    const before = await etcdStatus(ctx.client, node, call);
    if (before.leader !== before.memberId) return;
    const voters = (await etcdMembers(ctx.client, node, call)).filter((m) => !m.isLearner);
    if (voters.length < 2) {
      ctx.emit({
        type: "etcd-leadership",
        node,
        moved: false,
        leader: memberHex(before.memberId),
        detail:
          "the only etcd member leads and cannot hand leadership on: etcd is down while it reboots",
      });
      return;
    }
    await forfeitEtcdLeadership(ctx.client, node, call);
    const after = await pollUntil(
      async (s) => {
        const st = await etcdStatus(ctx.client, node, { signal: s, timeoutMs: ctx.callMs });
        return st.leader !== before.memberId && st.leader !== 0n ? st : undefined;
      },
      {
        intervalMs: Math.min(ctx.gateIntervalMs, 200),
        timeoutMs: ctx.callMs,
        signal,
        what: "etcd leadership on another member",
      },
    );
    ctx.emit({
      type: "etcd-leadership",
      node,
      moved: true,
      leader: memberHex(after.leader),
      detail: `etcd leadership moved from ${memberHex(before.memberId)} to ${memberHex(after.leader)}`,
    });
  } catch (error) {
    throw new UpgradeError(
      signal.aborted ? "UPGRADE_ABORTED" : "UPGRADE_ETCD_LEADERSHIP",
      `${node}: could not move etcd leadership off the node before its reboot: ${messageOf(error)}`,
      { node, step: "reboot", cause: error },
    );
  }
}
