// Upgrade planning judged by Talos's own compatibility code (the machinery of
// the newest release we build, which knows every minor up to its own): which
// hosts each Talos version's installer accepts, which Kubernetes versions each
// supports, and that every step of every planned path is one the installer
// would take, jumping as far as it allows.
import fc from "fast-check";
import { checkKubernetes, TALOS_COMPATIBILITY, upgradeableFrom, versionPath } from "taloskit";
import { afterAll, describe, expect, it } from "vitest";
import { closeOracles, machinery } from "../oracles.js";
import { SEED_PARAMETERS } from "./settings.js";

afterAll(closeOracles);

const oracle = () => machinery("1.14");
const minors = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Target minors the oracle knows (its release and older). */
const TARGETS = minors(2, 14);

describe("the compatibility table is Talos's", () => {
  it("accepts exactly the hosts each Talos version's installer accepts (patches .0 and .7)", async () => {
    for (const t of TARGETS) {
      for (const h of minors(0, t)) {
        for (const patch of [0, 7]) {
          const host = `v1.${h}.${patch}`;
          const target = `v1.${t}.3`;
          if (h === t && patch > 3) continue; // a downgrade within the minor
          const verdict = await oracle().upgradeable(host, target);
          expect(upgradeableFrom(host, target), `${host} -> ${target}: ${verdict.error}`).toBe(
            verdict.ok,
          );
        }
      }
    }
  });

  it("supports exactly the Kubernetes versions Talos supports", async () => {
    for (const t of TARGETS) {
      for (const k of minors(20, 39)) {
        for (const patch of [0, 9]) {
          const kubernetes = `1.${k}.${patch}`;
          const verdict = await oracle().kubernetes(kubernetes, `v1.${t}.0`);
          expect(
            checkKubernetes(kubernetes, [`v1.${t}.0`]).ok,
            `Kubernetes ${kubernetes} on Talos 1.${t}: ${verdict.error}`,
          ).toBe(verdict.ok);
        }
      }
    }
  });

  it("has a row for every minor the oracle knows", () => {
    for (const t of TARGETS) expect(TALOS_COMPATIBILITY[`1.${t}`], `1.${t}`).toBeDefined();
  });
});

describe("planned paths", () => {
  /** A factory catalog: some patches of each minor 1.8 to 1.14, some broken, some prereleases. */
  const catalogs = fc.record({
    releases: fc.uniqueArray(
      fc.record({
        minor: fc.integer({ min: 8, max: 14 }),
        patch: fc.integer({ min: 0, max: 12 }),
        pre: fc.boolean(),
      }),
      { minLength: 1, maxLength: 30, selector: (r) => `${r.minor}.${r.patch}.${r.pre}` },
    ),
    brokenShare: fc.integer({ min: 0, max: 3 }),
    from: fc.record({
      minor: fc.integer({ min: 8, max: 14 }),
      patch: fc.integer({ min: 0, max: 12 }),
    }),
  });

  it("are steps Talos's installer takes, each as far as it allows", async () => {
    const cases = fc.sample(catalogs, { numRuns: 300, ...SEED_PARAMETERS });
    let planned = 0;
    for (const c of cases) {
      const tags = c.releases.map((r) => `v1.${r.minor}.${r.patch}${r.pre ? "-beta.0" : ""}`);
      const broken = tags.filter((_, i) => i % 4 < c.brokenShare);
      const newest = c.releases
        .filter((r, i) => !r.pre && !broken.includes(tags[i] as string))
        .sort((a, b) => a.minor - b.minor || a.patch - b.patch)
        .at(-1);
      if (!newest) continue;
      const to = `v1.${newest.minor}.${newest.patch}`;
      const from = `v1.${c.from.minor}.${c.from.patch}`;
      let path: string[];
      try {
        path = versionPath(from, to, { available: tags, broken });
      } catch (error) {
        const code = (error as { code?: string }).code;
        expect(["UPGRADE_NO_PATH", "UPGRADE_IMPOSSIBLE_JUMP"]).toContain(code);
        if (code === "UPGRADE_NO_PATH") {
          // Nothing direct either.
          expect((await oracle().upgradeable(from, to)).ok).toBe(false);
        }
        continue;
      }
      planned++;
      let at = from;
      for (const step of path) {
        const verdict = await oracle().upgradeable(at, step);
        expect(verdict.ok, `${from} -> ${to} via ${path.join(", ")}: ${verdict.error}`).toBe(true);
        at = step;
      }
      if (from === to) expect(path).toEqual([]);
      else if ((await oracle().upgradeable(from, to)).ok) expect(path).toEqual([to]);
    }
    expect(planned).toBeGreaterThan(50);
  });
});
