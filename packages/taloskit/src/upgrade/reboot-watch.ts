// Confirming a reboot: the node is followed on its machine event stream,
// reconnecting with backoff while it is down, until MachineStatus says running
// and ready with a new boot ID (or, when the boot ID cannot be read, until it
// says so after the stream dropped). A failed boot sequence ends the wait.
import type { MachineEvent } from "@taloskit/api/machine";
import { MachineStatusEvent_MachineStage } from "@taloskit/api/machine";
import { decodeEvent, type TalosClient } from "@taloskit/client";
import { messageOf, retry, TalosError } from "@taloskit/core";
import { UpgradeError, type UpgradeErrorCode } from "./errors.js";
import { readBootId } from "./inspect.js";
import { machineEvents } from "./node-api.js";
import { type NodeRun, within } from "./node-run.js";

/** An event stream that ended or broke (the node went down): the watch reconnects. */
class StreamGone extends TalosError {
  override readonly name: string = "StreamGone";
  constructor(message: string, node: string) {
    super("UNAVAILABLE", message, { node });
  }
}

/** A machine event stream that is already live (its hello event was received). */
export class EventWatch {
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
    const it = machineEvents(client, node, tailEvents, s);
    try {
      const first = await it.next();
      if (first.done) throw new StreamGone("the event stream ended at once", node);
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

/** How the wait for a reboot goes. */
export interface RebootWait {
  /** The boot ID before the reboot, when it was read. */
  previousBootId: string | undefined;
  /** The legacy upgrade: a failed "upgrade" sequence is its failure. */
  legacy: boolean;
  /** First and longest delay between reconnections. */
  retryMs: number;
  retryMaxMs: number;
}

/** The state of the wait across reconnections. */
interface Watching {
  watch: EventWatch | undefined;
  /** The stream dropped at least once (the node went down). */
  dropped: boolean;
  /** Why the last stream ended, for the timeout message. */
  lastError: string;
}

function waitError(run: NodeRun, code: UpgradeErrorCode, message: string): UpgradeError {
  return new UpgradeError(code, `${run.node}: ${message}`, {
    node: run.node,
    step: "wait",
    version: run.version,
  });
}

/** The error of a wait that ran out of time, or that the caller aborted. */
function timedOut(run: NodeRun, w: Watching): UpgradeError {
  if (run.signal?.aborted) {
    return new UpgradeError(
      "UPGRADE_ABORTED",
      `upgrade of ${run.node} was aborted while it rebooted`,
      { node: run.node, step: "wait", version: run.version, cause: run.signal.reason },
    );
  }
  return waitError(
    run,
    "UPGRADE_NODE_NOT_READY",
    `the node did not come back running and ready within ${run.timeouts.rebootMs} ms${w.lastError ? ` (last error: ${w.lastError})` : ""}`,
  );
}

/**
 * Reads one event: the boot ID when it confirms the reboot (null when it does
 * without a boot ID), undefined when the wait goes on. Throws for a failed sequence.
 */
async function confirms(
  run: NodeRun,
  wait: RebootWait,
  w: Watching,
  ev: MachineEvent,
  limit: AbortSignal,
): Promise<string | null | undefined> {
  const d = decodeEvent(ev);
  const p = d.payload as Record<string, unknown> | undefined;
  if (!p) return undefined;
  if (d.type === "machine.SequenceEvent") {
    const message = (p.error as { message?: string } | undefined)?.message;
    if (!message) return undefined;
    const seq = String(p.sequence);
    throw waitError(
      run,
      wait.legacy && /upgrade/i.test(seq) ? "UPGRADE_LEGACY_FAILED" : "UPGRADE_NODE_NOT_READY",
      `sequence "${seq}" failed: ${message}`,
    );
  }
  if (d.type !== "machine.MachineStatusEvent") return undefined;
  const stage = STAGES[Number(p.stage)] ?? "unknown";
  const ready = (p.status as { ready?: boolean } | undefined)?.ready === true;
  run.emit({ type: "machine-status", node: run.node, stage, ready });
  if (stage !== "running" || !ready) return undefined;
  if (!wait.previousBootId) return w.dropped ? null : undefined;
  const now = await readBootId(run.client, run.node, run.version, {
    signal: limit,
    timeoutMs: run.timeouts.callMs,
  }).catch(() => undefined);
  return now && now !== wait.previousBootId ? now : undefined;
}

/** Follows one stream (opening it when none is open) until it confirms the reboot or ends. */
async function followStream(
  run: NodeRun,
  wait: RebootWait,
  w: Watching,
  limit: AbortSignal,
): Promise<string | undefined> {
  try {
    w.watch ??= await EventWatch.open(run.client, run.node, -1, limit);
    for (let ev = await w.watch.next(); ev; ev = await w.watch.next()) {
      const found = await confirms(run, wait, w, ev, limit);
      if (found !== undefined) return found ?? undefined;
    }
    w.lastError = "the event stream ended";
  } catch (error) {
    if (error instanceof UpgradeError) throw error;
    if (limit.aborted) throw timedOut(run, w);
    w.lastError = messageOf(error);
  }
  w.watch?.close();
  w.watch = undefined;
  w.dropped = true;
  throw new StreamGone(w.lastError, run.node);
}

/**
 * Waits until the node runs again after its reboot; `first` is the stream
 * opened before the reboot was asked for. Resolves with the new boot ID when
 * known. Throws UpgradeError (at step "wait").
 */
export async function waitForReboot(
  run: NodeRun,
  first: EventWatch | undefined,
  wait: RebootWait,
): Promise<string | undefined> {
  const limit = within(run, run.timeouts.rebootMs);
  const w: Watching = { watch: first, dropped: false, lastError: "" };
  // The deadline closes whichever stream is open: a node that accepted the reboot
  // but never drops the first stream must not keep this wait alive.
  const onLimit = () => w.watch?.close();
  limit.addEventListener("abort", onLimit, { once: true });
  try {
    return await retry(() => followStream(run, wait, w, limit), {
      policy: {
        attempts: Number.POSITIVE_INFINITY,
        baseDelayMs: wait.retryMs,
        maxDelayMs: wait.retryMaxMs,
      },
      shouldRetry: (error) => error instanceof StreamGone,
      signal: limit,
      onRetry: (attempt) =>
        run.emit({ type: "reconnect", node: run.node, attempt, reason: w.lastError }),
      aborted: () => timedOut(run, w),
    });
  } catch (error) {
    // A stream gone as the deadline passed: the wait is over.
    throw error instanceof StreamGone ? timedOut(run, w) : error;
  } finally {
    limit.removeEventListener("abort", onLimit);
    w.watch?.close();
  }
}
