import { afterAll, describe, expect, it } from "vitest";
import { closeOracles, machinery, ORACLE_VERSIONS, schematicOracle } from "../oracles.js";

afterAll(closeOracles);

describe("oracles", () => {
  it.each(ORACLE_VERSIONS)("machinery %s runs the release it names", async (v) => {
    const r = await machinery(v).version();
    expect(r.version).toMatch(new RegExp(`^v${v.replace(".", "\\.")}\\.\\d+$`));
  });

  it.each(ORACLE_VERSIONS)("machinery %s accepts its own generated configs", async (v) => {
    for (const role of ["controlplane", "worker"] as const) {
      const gen = await machinery(v).generate(role);
      expect(gen.ok, gen.error).toBe(true);
      const verdict = await machinery(v).validate(gen.config ?? "");
      expect(verdict.ok, verdict.error).toBe(true);
    }
  });

  it("machinery rejects an unknown field with Talos's reason", async () => {
    const gen = await machinery("1.14").generate("worker");
    const broken = (gen.config ?? "").replace("machine:\n", "machine:\n    nosuchfield: 1\n");
    const verdict = await machinery("1.14").validate(broken);
    expect(verdict.ok).toBe(false);
    expect(verdict.stage).toBe("load");
    expect(verdict.error).toContain("nosuchfield");
  });

  it("the schematic oracle gives the empty schematic's well-known ID", async () => {
    const r = await schematicOracle().id("{}");
    expect(r.schematicId).toBe("376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
  });
});
