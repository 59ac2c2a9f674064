// Retries with exponential backoff and full jitter, for calls that are safe to
// repeat: read-only calls, and only after transient failures (the node or the
// endpoint could not be reached). Calls that change a node are never repeated,
// whatever the caller asks, and a stream is never restarted once data arrived.
import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { type BackoffPolicy, backoffDelay } from "@taloskit/core";
import { ConnectionError, TalosError } from "./errors.js";

export { backoffDelay };

/** How a call is retried. */
export interface RetryOptions {
  /** Attempts in total, the first one included (default 4; 1 means no retry). */
  attempts?: number | undefined;
  /** Backoff before the second attempt, doubled for each further one (default 200 ms). */
  baseDelayMs?: number | undefined;
  /** Upper bound of one backoff sleep (default 5 s). */
  maxDelayMs?: number | undefined;
  /** Called before each backoff sleep, e.g. to log or count retries. */
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/** `false` turns retries off; an object overrides the defaults field by field. */
export type RetrySetting = false | RetryOptions;

/** What onRetry is told before each backoff sleep. */
export interface RetryInfo {
  /** The attempt that just failed (1 for the first). */
  attempt: number;
  /** How long the client sleeps before the next attempt. */
  delayMs: number;
  /** Why the attempt failed. */
  error: TalosError;
  /** The RPC, as "package.Service/Method". */
  procedure: string;
  /** The target node, when the call named one. */
  node: string | undefined;
}

/** A complete retry policy (every field set). */
export interface RetryPolicy extends BackoffPolicy {
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/** Defaults: four attempts over about a second and a half at most, each sleep at most 5 s. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
});

/**
 * RPCs that only read, so that running one twice is harmless. Kept as an
 * explicit list: a method missing here is treated as one that changes things.
 */
const READ_ONLY = new Set([
  "machine.MachineService/Containers",
  "machine.MachineService/Copy",
  "machine.MachineService/CPUFreqStats",
  "machine.MachineService/CPUInfo",
  "machine.MachineService/DiskStats",
  "machine.MachineService/DiskUsage",
  "machine.MachineService/Dmesg",
  "machine.MachineService/EtcdAlarmList",
  "machine.MachineService/EtcdMemberList",
  "machine.MachineService/EtcdSnapshot",
  "machine.MachineService/EtcdStatus",
  "machine.MachineService/Events",
  "machine.MachineService/Hostname",
  "machine.MachineService/ImageList",
  "machine.MachineService/Kubeconfig",
  "machine.MachineService/List",
  "machine.MachineService/LoadAvg",
  "machine.MachineService/Logs",
  "machine.MachineService/LogsContainers",
  "machine.MachineService/Memory",
  "machine.MachineService/Mounts",
  "machine.MachineService/Netstat",
  "machine.MachineService/NetworkDeviceStats",
  "machine.MachineService/Processes",
  "machine.MachineService/Read",
  "machine.MachineService/ServiceList",
  "machine.MachineService/Stats",
  "machine.MachineService/SystemStat",
  "machine.MachineService/Version",
  "machine.ImageService/List",
  "machine.ImageService/Verify",
  "storage.StorageService/Disks",
  "machine.StorageService/Statfs",
  "time.TimeService/Time",
  "time.TimeService/TimeCheck",
  "inspect.InspectService/ControllerRuntimeDependencies",
  "cluster.ClusterService/HealthCheck",
  "cosi.resource.State/Get",
  "cosi.resource.State/List",
  "cosi.resource.State/Watch",
]);

/**
 * Whether a method may be retried: it only reads (listed above, or declared
 * free of side effects in its descriptor) and the client sends a single
 * request (unary or server streaming), so the request can be sent again.
 */
export function isRetryable(method: DescMethod): boolean {
  if (!sendsOneRequest(method)) return false;
  if (method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) return true;
  return READ_ONLY.has(`${method.parent.typeName}/${method.name}`);
}

/** Whether a failure is transient: the node or endpoint could not be reached, or went away. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof TalosError)) return false;
  if (error instanceof ConnectionError && error.code === "ENDPOINT_UNREACHABLE") return true;
  return error.code === "UNAVAILABLE";
}

/**
 * Whether a failure left the request unprocessed: no server handled it (the
 * connection was never made, or the server refused the stream as it went
 * away), so it may be sent again even when it changes a node.
 */
export function isUnprocessed(error: unknown): boolean {
  return error instanceof ConnectionError && error.unprocessed && isTransient(error);
}

/** Whether a method sends one request (unary or server streaming), so that it can be sent again. */
export function sendsOneRequest(method: DescMethod): boolean {
  return method.methodKind === "unary" || method.methodKind === "server_streaming";
}

/** Checks and completes retry options; a bad value gives an INVALID_ARGUMENT error naming it. */
export function resolveRetry(
  base: RetrySetting | undefined,
  override: RetrySetting | undefined,
  where: string,
): RetryPolicy | undefined {
  if (override === false || (override === undefined && base === false)) return undefined;
  const merged: RetryOptions = {
    ...DEFAULT_RETRY,
    ...(base || {}),
    ...(override || {}),
  };
  const policy: RetryPolicy = {
    attempts: merged.attempts ?? DEFAULT_RETRY.attempts,
    baseDelayMs: merged.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
    maxDelayMs: merged.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    onRetry: merged.onRetry,
  };
  const check = (name: keyof RetryOptions, value: number, min: number) => {
    if (!Number.isFinite(value) || value < min || (name === "attempts" && !Number.isInteger(value)))
      throw new TalosError(
        "INVALID_ARGUMENT",
        `${where}: retry.${name} must be ${name === "attempts" ? "an integer" : "a number"} of at least ${min}, got ${String(value)}`,
      );
  };
  check("attempts", policy.attempts, 1);
  check("baseDelayMs", policy.baseDelayMs, 0);
  check("maxDelayMs", policy.maxDelayMs, 0);
  if (policy.onRetry !== undefined && typeof policy.onRetry !== "function")
    throw new TalosError("INVALID_ARGUMENT", `${where}: retry.onRetry must be a function`);
  return policy;
}
