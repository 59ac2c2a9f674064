// PodDisruptionBudget arithmetic as Kubernetes does it (policy/v1): the
// disruption controller's status (expected pods, desired and current healthy,
// disruptions allowed) and the Eviction subresource's verdict for one pod.
// Facts from Kubernetes' pkg/controller/disruption (getExpectedPodCount,
// getExpectedScale, countHealthyPods, updatePdbStatus) and
// pkg/registry/core/pod/storage/eviction.go (canIgnorePDB, checkAndDecrement).

/** An integer or a percentage such as "50%" (an IntOrString). */
export type IntOrPercent = number | string;

/** What a budget says, as its spec does. */
export interface PdbSpec {
  /** spec.selector.matchLabels: every label must match. */
  matchLabels: Record<string, string>;
  minAvailable?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  /** spec.unhealthyPodEvictionPolicy (default IfHealthyBudget). */
  unhealthyPodEvictionPolicy?: "IfHealthyBudget" | "AlwaysAllow";
}

/** What the budget arithmetic needs of a pod. */
export interface PdbPod {
  labels: Record<string, string>;
  ready: boolean;
  phase: string;
  /** Its controller ("ReplicaSet/web-6d4"), when it has one. */
  controller: string | undefined;
}

/** status of a budget, as the disruption controller writes it. */
export interface PdbStatus {
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  disruptionsAllowed: number;
}

/**
 * An IntOrString scaled against `total`, rounding a percentage up (Kubernetes'
 * GetScaledValueFromIntOrPercent with roundUp, which the disruption
 * controller uses for both minAvailable and maxUnavailable).
 */
export function scaledValue(value: IntOrPercent, total: number): number {
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m)
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** Whether a budget's selector selects a pod (matchLabels: all of them). */
export function selects(spec: PdbSpec, labels: Record<string, string>): boolean {
  return Object.entries(spec.matchLabels).every(([k, v]) => labels[k] === v);
}

/**
 * The budget's status over the pods its selector matches. The expected count
 * is the number of pods for an integer minAvailable, else the sum of the
 * scales of the pods' controllers (pods without a controller add nothing);
 * `scaleOf` answers a controller's scale, undefined when it has none (the
 * controller then fails safe: no disruption allowed).
 */
export function pdbStatus(
  spec: PdbSpec,
  pods: readonly PdbPod[],
  scaleOf: (controller: string) => number | undefined,
): PdbStatus {
  const currentHealthy = pods.filter((p) => p.ready).length;
  const expectedScale = (): number | undefined => {
    let sum = 0;
    for (const c of new Set(pods.flatMap((p) => (p.controller ? [p.controller] : [])))) {
      const scale = scaleOf(c);
      if (scale === undefined) return undefined;
      sum += scale;
    }
    return sum;
  };
  let expectedPods = 0;
  let desiredHealthy = 0;
  if (spec.maxUnavailable !== undefined) {
    const scale = expectedScale();
    if (scale === undefined) return failSafe(currentHealthy);
    expectedPods = scale;
    desiredHealthy = Math.max(0, scale - scaledValue(spec.maxUnavailable, scale));
  } else if (typeof spec.minAvailable === "number") {
    expectedPods = pods.length;
    desiredHealthy = spec.minAvailable;
  } else if (spec.minAvailable !== undefined) {
    const scale = expectedScale();
    if (scale === undefined) return failSafe(currentHealthy);
    expectedPods = scale;
    desiredHealthy = scaledValue(spec.minAvailable, scale);
  }
  // No disruption while nothing is expected (a budget whose pods are not yet counted).
  const allowed = currentHealthy - desiredHealthy;
  return {
    currentHealthy,
    desiredHealthy,
    expectedPods,
    disruptionsAllowed: expectedPods <= 0 || allowed <= 0 ? 0 : allowed,
  };
}

/** A budget the controller could not compute: nothing may be disrupted. */
function failSafe(currentHealthy: number): PdbStatus {
  return { currentHealthy, desiredHealthy: 0, expectedPods: 0, disruptionsAllowed: 0 };
}

/** What the Eviction subresource does with a pod. */
export type EvictionVerdict =
  | { allow: true }
  | { allow: false; code: 429 | 500; message: string; cause?: string };

/** The message of a refusal by a budget, as the API server words it. */
export const BUDGET_REFUSAL = "Cannot evict pod as it would violate the pod's disruption budget.";

/**
 * Whether the Eviction API lets a pod go, given the budgets of its namespace
 * that select it and their status: finished and pending pods always go; a
 * pod under more than one budget is refused with 500; a pod that is not
 * Ready goes when its budget is healthy (or its policy is AlwaysAllow); else
 * the budget must allow a disruption, or the answer is 429.
 */
export function evictionVerdict(
  pod: PdbPod,
  budgets: readonly { name: string; spec: PdbSpec; status: PdbStatus }[],
): EvictionVerdict {
  if (pod.phase === "Succeeded" || pod.phase === "Failed" || pod.phase === "Pending") {
    return { allow: true };
  }
  if (budgets.length > 1) {
    return {
      allow: false,
      code: 500,
      message:
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    };
  }
  const b = budgets[0];
  if (!b) return { allow: true };
  if (!pod.ready) {
    if (b.spec.unhealthyPodEvictionPolicy === "AlwaysAllow") return { allow: true };
    if (b.status.currentHealthy >= b.status.desiredHealthy && b.status.desiredHealthy > 0) {
      return { allow: true };
    }
  }
  if (b.status.disruptionsAllowed > 0) return { allow: true };
  return {
    allow: false,
    code: 429,
    message: BUDGET_REFUSAL,
    cause: `The disruption budget ${b.name} needs ${b.status.desiredHealthy} healthy pods and has ${b.status.currentHealthy} currently`,
  };
}
