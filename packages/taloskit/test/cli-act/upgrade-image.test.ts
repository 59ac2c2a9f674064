// `taloskit upgrade --image IMAGE`, talosctl's single-node upgrade, through the
// binary's entry with global flags first, against the simulated cluster.
import { describe, expect, it } from "vitest";
import { parseInstaller } from "../../src/cli/commands/upgrade-image.js";
import { parseJsonStream, runTaloskitMain, talosconfigFiles } from "../helpers/cli.js";
import { SCHEMATIC_A, SCHEMATIC_B, startEnv } from "../upgrade/helpers.js";

describe("taloskit upgrade --image", () => {
  it("keeps the node's schematic for a vanilla installer, installs a named one, refuses a bad image", async () => {
    const env = await startEnv([
      { address: "10.5.0.3", role: "worker", version: "v1.14.0", schematic: SCHEMATIC_A },
      { address: "10.5.0.4", role: "worker", version: "v1.14.0", schematic: SCHEMATIC_A },
    ]);
    const files = await talosconfigFiles(env.sim);
    try {
      const cfg = await files.write("talosconfig");
      const tk = (...args: string[]) => runTaloskitMain(["--talosconfig", cfg, ...args]);

      const kept = await tk(
        "-n",
        "10.5.0.3",
        "-o",
        "json",
        "upgrade",
        "--image",
        "ghcr.io/siderolabs/installer:v1.14.1",
        "--timeout",
        "10s",
      );
      expect(kept.code).toBe(0);
      const image = `factory.talos.dev/metal-installer/${SCHEMATIC_A}:v1.14.1`;
      expect(kept.stderr).toContain(
        `10.5.0.3: keeping its schematic aaaaaaaaaaaa…: installing ${image}`,
      );
      expect(parseJsonStream(kept.stdout)).toMatchObject([
        { node: "10.5.0.3", from: "v1.14.0", version: "v1.14.1", schematic: SCHEMATIC_A, image },
      ]);
      expect(env.sim.node("10.5.0.3").state).toMatchObject({
        version: "v1.14.1",
        schematic: SCHEMATIC_A,
      });

      const named = `factory.talos.dev/metal-installer/${SCHEMATIC_B}:v1.14.1`;
      const moved = await tk("-n", "10.5.0.4", "upgrade", "--image", named, "--timeout", "10s");
      expect(moved.code).toBe(0);
      expect(moved.stdout).toMatch(
        /^NODE\s+FROM\s+TO\s+SCHEMATIC\s+IMAGE\s+TIME\n10\.5\.0\.4\s+v1\.14\.0\s+v1\.14\.1\s+bbbbbbbbbbbb…/,
      );
      expect(env.sim.node("10.5.0.4").state.schematic).toBe(SCHEMATIC_B);

      const boots = env.sim.node("10.5.0.4").state.boots;
      const bad = await tk("-n", "10.5.0.4", "upgrade", "--image", "ghcr.io/siderolabs/installer");
      expect(bad).toEqual({
        stdout: "",
        stderr:
          "taloskit: --image ghcr.io/siderolabs/installer has no version tag (e.g. ghcr.io/siderolabs/installer:v1.14.0)\n",
        code: 1,
      });
      expect(env.sim.node("10.5.0.4").state.boots).toBe(boots);
    } finally {
      await files.remove();
      await env.close();
    }
  });

  it("reads an installer reference", () => {
    expect(parseInstaller(`f.test/metal-installer/${SCHEMATIC_A}:v1.14.0`)).toEqual({
      tag: "v1.14.0",
      schematic: SCHEMATIC_A,
      repo: `f.test/metal-installer/${SCHEMATIC_A}`,
    });
    expect(parseInstaller("localhost:5000/installer:v1.13.2").schematic).toBeUndefined();
  });
});
