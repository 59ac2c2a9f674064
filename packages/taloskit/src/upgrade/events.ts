// Progress of an upgrade as typed events, for a UI, a bot or the CLI. Library
// code never prints: it calls the caller's `onEvent` with these.
import { messageOf } from "@taloskit/core";
import type { UpgradeError, UpgradeStep } from "./errors.js";

/** How a node is upgraded: ImageService + LifecycleService (1.13+) or MachineService.Upgrade. */
export type UpgradeMethod = "lifecycle" | "legacy";

interface Base {
  /** Milliseconds since the epoch. */
  at: number;
}

/** Every event an upgrade emits. */
export type UpgradeEvent = Base &
  (
    | { type: "run-start"; target: string; nodes: number; dryRun: boolean }
    | {
        /** A run picks up a state file of an earlier run of the same plan. */
        type: "resume";
        /** The state file. */
        path: string;
        /** Nodes the state file records done; each is read again and skipped. */
        done: string[];
        /** Where the earlier run stopped, when it failed. */
        failed: UpgradeErrorJson | undefined;
      }
    | { type: "wave-start"; version: string; nodes: string[] }
    | { type: "batch-start"; version: string; nodes: string[] }
    | {
        type: "gate";
        gate: "etcd" | "node" | "kubernetes";
        node: string | undefined;
        ok: boolean;
        detail: string;
      }
    | {
        /** The etcd snapshot of the run, saved (or verified and reused) before any control plane went down. */
        type: "etcd-snapshot";
        path: string;
        bytes: number;
        /** The control-plane node whose member streamed it (undefined when reused). */
        node: string | undefined;
        /** Its member ID, 16 hex digits as talosctl prints it. */
        member: string | undefined;
        reused: boolean;
        durationMs: number;
      }
    | {
        /**
         * Before a control plane reboots: its etcd member led and handed leadership
         * on (`moved` true, `leader` the new leader), or could not because it is the
         * only member (`moved` false: a warning, the upgrade goes on).
         */
        type: "etcd-leadership";
        node: string;
        moved: boolean;
        leader: string | undefined;
        detail: string;
      }
    | { type: "node-skip"; node: string; version: string; reason: string }
    | {
        type: "node-start";
        node: string;
        from: string;
        to: string;
        image: string;
        method: UpgradeMethod;
      }
    | { type: "step"; node: string; step: UpgradeStep; version: string; detail: string }
    | {
        type: "pull-progress";
        node: string;
        layer: string;
        offset: number;
        total: number;
      }
    | {
        /** The installer is on the node: pulled before cordon and drain, so that it is not part of the disruption. */
        type: "pull-done";
        node: string;
        image: string;
        durationMs: number;
      }
    | { type: "install-output"; node: string; message: string }
    | { type: "machine-status"; node: string; stage: string; ready: boolean }
    | { type: "reconnect"; node: string; attempt: number; reason: string }
    | { type: "evict"; node: string; pod: string }
    | {
        /** A disruption budget refused a pod's eviction (reported once per pod; the drain retries). */
        type: "evict-refused";
        node: string;
        pod: string;
        budgets: string[];
        detail: string;
      }
    | {
        /** A pod deleted by the explicit force-after fallback, its budgets bypassed. */
        type: "pod-forced";
        node: string;
        pod: string;
        budgets: string[];
        gracePeriodSeconds: number | undefined;
      }
    | {
        /** The Kubernetes Node of a Talos node as seen while waiting for it: first state and each change. */
        type: "kubernetes-node";
        node: string;
        /** The Kubernetes Node name. */
        name: string;
        ready: boolean;
        kubeletVersion: string | undefined;
        /** Why it is not Ready yet (condition reason, version mismatch, API error); "" when Ready. */
        detail: string;
      }
    | {
        type: "node-done";
        node: string;
        version: string;
        schematic: string;
        bootId: string | undefined;
        durationMs: number;
      }
    | { type: "node-failed"; node: string; error: UpgradeError }
    | { type: "run-done"; ok: boolean; upgraded: number; skipped: number; durationMs: number }
  );

/** The payload of an event before its timestamp is added. */
export type UpgradeEventInit = UpgradeEvent extends infer E
  ? E extends UpgradeEvent
    ? Omit<E, "at">
    : never
  : never;

/** Receives progress events. Exceptions it throws are ignored. */
export type UpgradeListener = (event: UpgradeEvent) => void;

/** Calls a listener with a timestamped event, shielding the upgrade from listener errors. */
export function emitter(listener: UpgradeListener | undefined): (e: UpgradeEventInit) => void {
  if (!listener) return () => {};
  return (e) => {
    try {
      listener({ ...e, at: Date.now() } as UpgradeEvent);
    } catch {
      // a broken listener must not break an upgrade half-way
    }
  };
}

/** An UpgradeError as plain data: what events and state files carry (no cause, no stack). */
export interface UpgradeErrorJson {
  /** UpgradeError's stable code (UPGRADE_...). */
  code: string;
  /** Where in a node's upgrade it failed. */
  step: UpgradeStep | undefined;
  /** The node it concerns, when one. */
  node: string | undefined;
  /** The version being installed when it failed. */
  version: string | undefined;
  /** The installer is on the node's disk and not booted yet (see UpgradeError.installPending). */
  installPending: boolean;
  message: string;
}

/** Longest text an event carries as JSON; installer output and messages beyond it are cut. */
const MAX_TEXT = 4096;

function bounded(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT)}… (${text.length} characters)`;
}

/** The plain data of an UpgradeError (or of any error: its code, else UNKNOWN). */
export function errorJson(error: unknown): UpgradeErrorJson {
  const e = error as Partial<UpgradeError>;
  return {
    code: e.code ?? "UNKNOWN",
    step: e.step,
    node: e.node,
    version: e.version,
    installPending: e.installPending ?? false,
    message: bounded(messageOf(error)),
  };
}

/**
 * An event as one line of JSON (the `--json` output of `taloskit upgrade`):
 * `type` first, `time` (RFC 3339, UTC) in place of `at`, errors as
 * UpgradeErrorJson. These types are the schema: fields are only ever added.
 */
export type UpgradeEventJson = UpgradeEvent extends infer E
  ? E extends { error: UpgradeError }
    ? Omit<E, "at" | "error"> & { time: string; error: UpgradeErrorJson }
    : E extends UpgradeEvent
      ? Omit<E, "at"> & { time: string }
      : never
  : never;

/** The JSON form of an event: timestamped, errors as plain data, long texts cut. */
export function eventJson(event: UpgradeEvent): UpgradeEventJson {
  const { at, ...rest } = event;
  const json: Record<string, unknown> = { type: rest.type, time: new Date(at).toISOString() };
  for (const [k, v] of Object.entries(rest)) {
    if (k === "error") json[k] = errorJson(v);
    else json[k] = typeof v === "string" ? bounded(v) : v;
  }
  return json as UpgradeEventJson;
}
