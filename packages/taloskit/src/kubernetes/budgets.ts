// PodDisruptionBudgets (policy/v1) as drains and gates see them: the
// selector, the status the disruption controller wrote, and which pods a
// budget covers. Also the name of the budget behind an eviction refusal.

/** A label selector: matchLabels and matchExpressions, all of which must hold. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: string; values: string[] }[];
}

/** A PodDisruptionBudget with its status. */
export interface KubeDisruptionBudget {
  namespace: string;
  name: string;
  selector: LabelSelector;
  /** spec.minAvailable or spec.maxUnavailable, as written (an integer or a percentage). */
  minAvailable: number | string | undefined;
  maxUnavailable: number | string | undefined;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  /** How many more pods may be evicted now; 0 refuses every eviction of a Ready pod. */
  disruptionsAllowed: number;
}

/** Reads a PodDisruptionBudget object as returned by the API. */
export function kubeBudgetOf(body: unknown): KubeDisruptionBudget {
  const b = (body ?? {}) as {
    metadata?: { name?: string; namespace?: string };
    spec?: {
      selector?: {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
      };
      minAvailable?: number | string;
      maxUnavailable?: number | string;
    };
    status?: {
      currentHealthy?: number;
      desiredHealthy?: number;
      expectedPods?: number;
      disruptionsAllowed?: number;
    };
  };
  const sel = b.spec?.selector;
  return {
    namespace: b.metadata?.namespace ?? "default",
    name: b.metadata?.name ?? "",
    selector: {
      matchLabels: sel?.matchLabels ?? {},
      matchExpressions: (sel?.matchExpressions ?? []).map((e) => ({
        key: e.key ?? "",
        operator: e.operator ?? "",
        values: e.values ?? [],
      })),
    },
    minAvailable: b.spec?.minAvailable,
    maxUnavailable: b.spec?.maxUnavailable,
    currentHealthy: b.status?.currentHealthy ?? 0,
    desiredHealthy: b.status?.desiredHealthy ?? 0,
    expectedPods: b.status?.expectedPods ?? 0,
    disruptionsAllowed: b.status?.disruptionsAllowed ?? 0,
  };
}

/**
 * Whether a budget covers a pod: same namespace and its selector matches the
 * pod's labels (Kubernetes' label selector operators; an unknown operator
 * matches nothing). An empty selector matches every pod of the namespace, as
 * policy/v1 does.
 */
export function budgetCovers(
  budget: Pick<KubeDisruptionBudget, "namespace" | "selector">,
  pod: { namespace: string; labels: Record<string, string> },
): boolean {
  if (budget.namespace !== pod.namespace) return false;
  const { matchLabels, matchExpressions } = budget.selector;
  if (!Object.entries(matchLabels).every(([k, v]) => pod.labels[k] === v)) return false;
  return matchExpressions.every((e) => {
    const has = e.key in pod.labels;
    const value = pod.labels[e.key] ?? "";
    switch (e.operator) {
      case "In":
        return has && e.values.includes(value);
      case "NotIn":
        return !has || !e.values.includes(value);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
}

/**
 * Whether the Eviction API would refuse a pod under this budget now: a Ready
 * pod needs a disruption allowed; a pod that is not Ready may go while the
 * budget is healthy (the default unhealthyPodEvictionPolicy, IfHealthyBudget).
 */
export function budgetBlocks(budget: KubeDisruptionBudget, pod: { ready: boolean }): boolean {
  if (budget.disruptionsAllowed > 0) return false;
  if (pod.ready) return true;
  return !(budget.currentHealthy >= budget.desiredHealthy && budget.desiredHealthy > 0);
}

/**
 * The budgets an eviction refusal (HTTP 429) names: the API server puts a
 * cause of type DisruptionBudget that reads "The disruption budget <name> ...".
 */
export function refusingBudgets(status: unknown): string[] {
  const causes =
    (status as { details?: { causes?: { reason?: string; message?: string }[] } } | undefined)
      ?.details?.causes ?? [];
  return causes.flatMap((c) => {
    const name =
      c.reason === "DisruptionBudget"
        ? /^The disruption budget (\S+) /.exec(c.message ?? "")?.[1]
        : undefined;
    return name ? [name] : [];
  });
}
