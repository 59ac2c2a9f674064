// The bookkeeping of a run: each node's outcome, the summary, the run-done
// event, and the failure that ends a run (UpgradeRunError with the summary).
import { messageOf } from "@taloskit/core";
import { UpgradeError } from "./errors.js";
import type { UpgradeEventInit } from "./events.js";
import type { UpgradePlan } from "./plan.js";

/** What happened to one node. */
export interface NodeOutcome {
  node: string;
  role: "controlplane" | "worker";
  from: string;
  to: string;
  /** Versions installed in this run. */
  installed: string[];
  status: "upgraded" | "skipped" | "failed" | "not-started" | "planned";
  durationMs: number;
  error?: { code: string; step: string | undefined; message: string } | undefined;
}

/** The result of a run. */
export interface UpgradeSummary {
  target: string;
  ok: boolean;
  dryRun: boolean;
  nodes: NodeOutcome[];
  durationMs: number;
  /** The etcd snapshot saved (or reused) before the first control plane went down. */
  etcdSnapshot?: string | undefined;
}

/** A failed run: the UpgradeError of the node or gate that stopped it, with the summary so far. */
export class UpgradeRunError extends UpgradeError {
  readonly summary: UpgradeSummary;
  constructor(error: UpgradeError, summary: UpgradeSummary) {
    super(error.code, error.message, {
      node: error.node,
      step: error.step,
      version: error.version,
      installPending: error.installPending,
      cause: error,
    });
    this.summary = summary;
  }
}

/** A run's record, node by node. */
export interface RunRecord {
  target: string;
  dryRun: boolean;
  started: number;
  outcomes: Map<string, NodeOutcome>;
  /** The path of the run's etcd snapshot, once saved. */
  etcdSnapshot?: string | undefined;
  emit: (e: UpgradeEventInit) => void;
}

/** The record of a run that starts now: every node not started (or skipped, or planned in a dry run). */
export function startRecord(
  plan: UpgradePlan,
  dryRun: boolean,
  emit: (e: UpgradeEventInit) => void,
): RunRecord {
  const outcomes = new Map<string, NodeOutcome>(
    plan.nodes.map((n) => [
      n.node,
      {
        node: n.node,
        role: n.role,
        from: n.version,
        to: n.steps.at(-1)?.version ?? n.version,
        installed: [],
        status: n.action === "skip" ? "skipped" : dryRun ? "planned" : "not-started",
        durationMs: 0,
      },
    ]),
  );
  return { target: plan.target, dryRun, started: Date.now(), outcomes, emit };
}

/** The outcome of a node of the plan. */
export function outcomeOf(record: RunRecord, node: string): NodeOutcome {
  return record.outcomes.get(node) as NodeOutcome;
}

export function summaryOf(record: RunRecord, ok: boolean): UpgradeSummary {
  return {
    target: record.target,
    ok,
    dryRun: record.dryRun,
    nodes: [...record.outcomes.values()],
    durationMs: Date.now() - record.started,
    ...(record.etcdSnapshot ? { etcdSnapshot: record.etcdSnapshot } : {}),
  };
}

/** Ends the run: one run-done event counted from the summary. */
export function finishRun(record: RunRecord, ok: boolean): UpgradeSummary {
  const s = summaryOf(record, ok);
  record.emit({
    type: "run-done",
    ok,
    upgraded: s.nodes.filter((n) => n.status === "upgraded").length,
    skipped: s.nodes.filter((n) => n.status === "skipped").length,
    durationMs: s.durationMs,
  });
  return s;
}

/** Marks a node failed with an error. */
export function markFailed(record: RunRecord, node: string | undefined, error: unknown): void {
  const out = node ? record.outcomes.get(node) : undefined;
  if (!out) return;
  const e = error as Partial<UpgradeError>;
  out.status = "failed";
  out.error = {
    code: e.code ?? "UPGRADE_NODE_UNHEALTHY",
    step: e.step,
    message: messageOf(error),
  };
}

/** Ends the run at a failure (of `node`, when the error names none): throws UpgradeRunError. */
export function failRun(record: RunRecord, error: unknown, node: string | undefined): never {
  const err =
    error instanceof UpgradeError
      ? error
      : new UpgradeError("UPGRADE_NODE_UNHEALTHY", messageOf(error), { node, cause: error });
  markFailed(record, err.node, err);
  throw new UpgradeRunError(err, finishRun(record, false));
}
