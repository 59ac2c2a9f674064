// The disruption-budget arithmetic of the Kubernetes simulator against
// Kubernetes' own rules, case by case:
// - pkg/controller/disruption/disruption.go: getExpectedPodCount (an integer
//   minAvailable expects as many pods as match; a percentage, or any
//   maxUnavailable, expects the sum of the controllers' scales),
//   getExpectedScale (pods without a controller add nothing; a controller
//   whose scale cannot be read fails the sync, and failSafe allows nothing),
//   countHealthyPods (Ready pods), updatePdbStatus (nothing allowed while
//   nothing is expected; never below 0);
// - apimachinery intstr.GetScaledValueFromIntOrPercent with roundUp true, for
//   both minAvailable and maxUnavailable percentages;
// - pkg/registry/core/pod/storage/eviction.go: canIgnorePDB (Succeeded,
//   Failed and Pending pods go without a check), more than one budget is a
//   500, an unready pod goes while its budget is healthy (IfHealthyBudget) or
//   always (AlwaysAllow), checkAndDecrement's 429 and its cause.
import {
  BUDGET_REFUSAL,
  evictionVerdict,
  type PdbPod,
  type PdbSpec,
  pdbStatus,
  scaledValue,
} from "@taloskit/testing";
import { describe, expect, it } from "vitest";

const RS = "default/ReplicaSet/web";
const pod = (over: Partial<PdbPod> = {}): PdbPod => ({
  labels: { app: "web" },
  ready: true,
  phase: "Running",
  controller: RS,
  ...over,
});
const pods = (ready: number, notReady = 0, over: Partial<PdbPod> = {}) => [
  ...Array.from({ length: ready }, () => pod(over)),
  ...Array.from({ length: notReady }, () => pod({ ...over, ready: false })),
];
const spec = (s: Partial<PdbSpec>): PdbSpec => ({ matchLabels: { app: "web" }, ...s });
/** The ReplicaSet's scale is `n`; other controllers have none. */
const scale = (n: number) => (c: string) => (c === RS ? n : undefined);

describe("scaledValue (percentages round up)", () => {
  it.each([
    [2, 10, 2],
    ["50%", 3, 2],
    ["34%", 3, 2],
    ["33%", 3, 1],
    ["25%", 4, 1],
    ["30%", 4, 2],
    ["0%", 7, 0],
    ["100%", 5, 5],
    ["10%", 0, 0],
  ] as const)("%s of %i is %i", (value, total, want) => {
    expect(scaledValue(value, total)).toBe(want);
  });

  it("refuses a string that is not a whole percentage", () => {
    expect(() => scaledValue("1.5%", 3)).toThrow(/not a percentage/);
    expect(() => scaledValue("two", 3)).toThrow(/not a percentage/);
  });
});

describe("pdbStatus", () => {
  it("an integer minAvailable expects the pods that match, whatever the scale", () => {
    expect(pdbStatus(spec({ minAvailable: 2 }), pods(3), scale(10))).toEqual({
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      disruptionsAllowed: 1,
    });
  });

  it("a percentage minAvailable expects the controller's scale and rounds up", () => {
    // 50% of 5 is 2.5, rounded up to 3: three Ready pods leave no room.
    expect(pdbStatus(spec({ minAvailable: "50%" }), pods(3), scale(5))).toEqual({
      currentHealthy: 3,
      desiredHealthy: 3,
      expectedPods: 5,
      disruptionsAllowed: 0,
    });
  });

  it("maxUnavailable rounds up against the expected count", () => {
    // 30% of 4 is 1.2, rounded up to 2 unavailable: 2 must stay healthy.
    expect(pdbStatus(spec({ maxUnavailable: "30%" }), pods(4), scale(4))).toMatchObject({
      desiredHealthy: 2,
      disruptionsAllowed: 2,
    });
    expect(pdbStatus(spec({ maxUnavailable: "25%" }), pods(4), scale(4))).toMatchObject({
      desiredHealthy: 3,
      disruptionsAllowed: 1,
    });
  });

  it("counts only Ready pods as healthy", () => {
    expect(pdbStatus(spec({ maxUnavailable: 1 }), pods(2, 1), scale(3))).toEqual({
      currentHealthy: 2,
      desiredHealthy: 2,
      expectedPods: 3,
      disruptionsAllowed: 0,
    });
  });

  it("never wants fewer than 0 healthy pods, nor allows fewer than 0 disruptions", () => {
    expect(pdbStatus(spec({ maxUnavailable: 5 }), pods(3), scale(3))).toMatchObject({
      desiredHealthy: 0,
      disruptionsAllowed: 3,
    });
    expect(pdbStatus(spec({ minAvailable: 4 }), pods(2, 1), scale(3))).toMatchObject({
      currentHealthy: 2,
      desiredHealthy: 4,
      disruptionsAllowed: 0,
    });
  });

  it("allows nothing while nothing is expected", () => {
    expect(pdbStatus(spec({ minAvailable: 0 }), [], scale(0)).disruptionsAllowed).toBe(0);
    // Pods without a controller add nothing to the expected count of a maxUnavailable.
    const unmanaged = pods(3, 0, { controller: undefined });
    expect(pdbStatus(spec({ maxUnavailable: 1 }), unmanaged, scale(3))).toEqual({
      currentHealthy: 3,
      desiredHealthy: 0,
      expectedPods: 0,
      disruptionsAllowed: 0,
    });
    // But an integer minAvailable counts them.
    expect(pdbStatus(spec({ minAvailable: 1 }), unmanaged, scale(3)).disruptionsAllowed).toBe(2);
  });

  it("fails safe when a controller's scale cannot be read", () => {
    const daemon = pods(3, 0, { controller: "default/DaemonSet/agent" });
    expect(pdbStatus(spec({ maxUnavailable: 1 }), daemon, scale(3))).toMatchObject({
      currentHealthy: 3,
      disruptionsAllowed: 0,
    });
  });

  it("adds up the scales of every controller of the matching pods", () => {
    const two = [...pods(2), ...pods(2, 0, { controller: "default/StatefulSet/db" })];
    const scales = (c: string) => (c === RS ? 2 : c === "default/StatefulSet/db" ? 4 : undefined);
    expect(pdbStatus(spec({ minAvailable: "50%" }), two, scales)).toMatchObject({
      expectedPods: 6,
      desiredHealthy: 3,
      disruptionsAllowed: 1,
    });
  });
});

describe("evictionVerdict", () => {
  const budget = (
    status: {
      currentHealthy: number;
      desiredHealthy: number;
      disruptionsAllowed: number;
    },
    s: Partial<PdbSpec> = {},
  ) => ({
    name: "web-pdb",
    spec: spec({ minAvailable: 2, ...s }),
    status: { expectedPods: 3, ...status },
  });
  const full = budget({ currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 });

  it("lets finished and pending pods go without asking the budget", () => {
    for (const phase of ["Succeeded", "Failed", "Pending"]) {
      expect(evictionVerdict(pod({ phase }), [full])).toEqual({ allow: true });
    }
  });

  it("lets a pod without a budget go", () => {
    expect(evictionVerdict(pod(), [])).toEqual({ allow: true });
  });

  it("refuses a Ready pod with 429 while the budget allows no disruption, naming it", () => {
    expect(evictionVerdict(pod(), [full])).toEqual({
      allow: false,
      code: 429,
      message: BUDGET_REFUSAL,
      cause: "The disruption budget web-pdb needs 2 healthy pods and has 2 currently",
    });
    expect(
      evictionVerdict(pod(), [
        budget({ currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 }),
      ]),
    ).toEqual({ allow: true });
  });

  it("an unready pod goes while its budget is healthy (IfHealthyBudget), or always with AlwaysAllow", () => {
    const unready = pod({ ready: false });
    expect(evictionVerdict(unready, [full])).toEqual({ allow: true });
    const short = budget({ currentHealthy: 1, desiredHealthy: 2, disruptionsAllowed: 0 });
    expect(evictionVerdict(unready, [short])).toMatchObject({ allow: false, code: 429 });
    const always = budget(
      { currentHealthy: 1, desiredHealthy: 2, disruptionsAllowed: 0 },
      { unhealthyPodEvictionPolicy: "AlwaysAllow" },
    );
    expect(evictionVerdict(unready, [always])).toEqual({ allow: true });
  });

  it("a pod under two budgets is a 500", () => {
    expect(evictionVerdict(pod(), [full, { ...full, name: "other" }])).toMatchObject({
      allow: false,
      code: 500,
      message:
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    });
  });
});
