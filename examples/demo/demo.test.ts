// The README's first command: the demo must tell the whole story and end well.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";

const root = join(import.meta.dirname, "../..");

test("the demo runs from inventory to a finished rolling upgrade", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--conditions=@taloskit/source", "--import", "tsx", "examples/demo/demo.ts"],
    { cwd: root, env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 },
  );
  // Every step, in order.
  const steps = [...stdout.matchAll(/^(\d)\. /gm)].map((m) => Number(m[1]));
  expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(stdout).toMatch(/^ {3}gpu-nvidia .*8x GH100/m);
  expect(stdout).toMatch(/gpu-nvidia: .*siderolabs\/nvidia-open-gpu-kernel-modules-lts/);
  expect(stdout).toMatch(/pi-5: .*overlay rpi_5/);
  expect(stdout).toMatch(/7 machines need \d+ images; every offline ID matched the factory's/);
  expect(stdout).toMatch(/gpu-nvidia: KernelModuleConfig.* valid/);
  expect(stdout).toMatch(/v1\.13\.3: control planes cp-1 > cp-2 > cp-3/);
  expect(stdout).toMatch(
    /Kubernetes v1\.34\.1 \(read from the kubelet\) is supported on every step/,
  );
  expect(stdout).toMatch(/done: 7 upgraded, 0 skipped/);
  expect(stdout).not.toMatch(/AS RESOLVED[\s\S]*\bno\b/);
  expect(stdout).toMatch(/7 of 7 nodes upgraded through v1\.13\.3 and v1\.14\.0/);
  expect(stdout).toMatch(/^Done in /m);
});
