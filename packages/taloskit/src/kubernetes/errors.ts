// Failures of the Kubernetes API client: one class on the common TalosError
// base, with a stable code, and a subclass for HTTP errors that keeps the status.
import { TalosError } from "@taloskit/core";

/** Stable codes of KubernetesError. */
export type KubernetesErrorCode =
  /** The API server answered with an HTTP error (see KubeApiError.status). */
  | "KUBE_API_ERROR"
  /** A kubeconfig or a client option is invalid. */
  | "KUBERNETES_INVALID_ARGUMENT"
  /** The API server could not be reached, or the connection broke. */
  | "KUBERNETES_UNREACHABLE"
  /** A request got no answer in time. */
  | "KUBERNETES_TIMEOUT"
  /** A Node was not Ready (or its kubelet reported another version) in time. */
  | "KUBERNETES_NODE_NOT_READY"
  /** A drain did not finish in time (see DrainTimeoutError.blocked). */
  | "KUBERNETES_DRAIN_TIMEOUT";

/** A failure of the Kubernetes API client. A {@link TalosError}. */
export class KubernetesError extends TalosError {
  override readonly name: string = "KubernetesError";
  /** Stable, machine-readable code. */
  declare readonly code: KubernetesErrorCode;
  constructor(code: KubernetesErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * An HTTP failure of the Kubernetes API (`status` is the HTTP status, `body`
 * the answer, usually a Status object). A {@link KubernetesError}.
 */
export class KubeApiError extends KubernetesError {
  override readonly name: string = "KubeApiError";
  declare readonly code: "KUBE_API_ERROR";
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super("KUBE_API_ERROR", message);
  }
}

/** A pod whose eviction a disruption budget still refused when a drain gave up. */
export interface BlockedPod {
  /** "<namespace>/<name>" */
  pod: string;
  /** The budgets the API server named in its last refusal. */
  budgets: string[];
  /** The API server's words, e.g. "The disruption budget web needs 2 healthy pods and has 2 currently". */
  reason: string;
}

/**
 * A drain that did not finish within its timeout (KUBERNETES_DRAIN_TIMEOUT):
 * `blocked` lists the pods disruption budgets still refused (empty when the
 * evicted pods were merely slow to go). A {@link KubernetesError}.
 */
export class DrainTimeoutError extends KubernetesError {
  override readonly name: string = "DrainTimeoutError";
  declare readonly code: "KUBERNETES_DRAIN_TIMEOUT";
  constructor(
    message: string,
    readonly blocked: BlockedPod[],
  ) {
    super("KUBERNETES_DRAIN_TIMEOUT", message);
  }
}
