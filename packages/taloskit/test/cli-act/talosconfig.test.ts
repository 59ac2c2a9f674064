// config contexts|context|merge|info|endpoint|node: the talosconfig read and
// edited as talosctl does, and the edited file still connects to the cluster.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseTalosconfig } from "@taloskit/client";
import type { ClusterSimulator } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CliCluster,
  parseJsonStream,
  runTaloskitMain,
  startCliCluster,
} from "../helpers/cli.js";

let cluster: CliCluster;
let sim: ClusterSimulator;

beforeAll(async () => {
  cluster = await startCliCluster(
    { nodes: [{ address: "10.5.0.2", role: "controlplane" }, { address: "10.5.0.3" }] },
    { roles: ["os:admin"], nodes: ["10.5.0.2"] },
  );
  sim = cluster.sim;
});
afterAll(async () => {
  await cluster?.close();
});

const read = async (path: string) => parseTalosconfig(await readFile(path, "utf8"), path);

describe("taloskit config (talosconfig)", () => {
  it("merge adds another file's contexts, renaming a clash, and makes its context current", async () => {
    const cfg = await cluster.files.write("merge-into", { roles: ["os:admin"] });
    await cluster.files.write("other", { context: "prod", roles: ["os:reader"] });
    const same = await cluster.files.write("same-name", { roles: ["os:reader"] });
    const r = await runTaloskitMain(["--talosconfig", cfg, "config", "merge", "other"], {
      env: { INIT_CWD: cluster.files.dir, npm_lifecycle_event: "taloskit" },
    });
    expect(r).toEqual({ stdout: "", stderr: "", code: 0 });
    const clash = await runTaloskitMain(["--talosconfig", cfg, "config", "merge", same]);
    expect(clash.stderr).toBe('renamed talosconfig context "sim" -> "sim-1"\n');
    const merged = await read(cfg);
    expect(Object.keys(merged.contexts ?? {})).toEqual(["sim", "prod", "sim-1"]);
    expect(merged.context).toBe("sim-1");
    expect((await stat(cfg)).mode & 0o777).toBe(0o600);

    const list = await runTaloskitMain(["--talosconfig", cfg, "config", "contexts"]);
    expect(list.stdout.split("\n")[0]).toMatch(/^CURRENT\s+NAME\s+ENDPOINTS\s+NODES$/);
    expect(list.stdout).toMatch(/\n\*\s+sim-1\s+127\.0\.0\.1:\d+/);

    const use = await runTaloskitMain(["--talosconfig", cfg, "config", "context", "prod"]);
    expect(use.code).toBe(0);
    expect((await read(cfg)).context).toBe("prod");
  });

  it("endpoint and node set the current context's lists, and the file still works", async () => {
    const cfg = await cluster.files.write("edit", { roles: ["os:admin"] });
    const endpoint = sim.clientOptions().endpoints[0] as string;
    expect((await runTaloskitMain(["--talosconfig", cfg, "config", "node", "10.5.0.3"])).code).toBe(
      0,
    );
    expect(
      (
        await runTaloskitMain([
          "--talosconfig",
          cfg,
          "config",
          "endpoints",
          endpoint,
          "127.0.0.1:1",
        ])
      ).code,
    ).toBe(0);
    const ctx = (await read(cfg)).contexts?.sim;
    expect(ctx?.nodes).toEqual(["10.5.0.3"]);
    expect(ctx?.endpoints).toEqual([endpoint, "127.0.0.1:1"]);
    const version = await runTaloskitMain(["--talosconfig", cfg, "-o", "json", "version"]);
    expect(version.code).toBe(0);
    expect(parseJsonStream(version.stdout)).toMatchObject([{ node: "10.5.0.3" }]);
  });

  it("info shows the context, its nodes, endpoints, roles and certificate expiry", async () => {
    const r = await runTaloskitMain(["--talosconfig", cluster.cfg, "config", "info"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Current context:\s+sim\nNodes:\s+10\.5\.0\.2\nEndpoints:\s+127\.0\.0\.1:\d+\nRoles:\s+os:admin\nCertificate expires:\s+\S.*\(\d{4}-\d\d-\d\d\)\n$/,
    );
    const json = await runTaloskitMain([
      "--talosconfig",
      cluster.cfg,
      "-o",
      "json",
      "config",
      "info",
    ]);
    expect(parseJsonStream(json.stdout)).toMatchObject([
      { context: "sim", nodes: ["10.5.0.2"], roles: ["os:admin"] },
    ]);
  });

  it("an unknown context or a missing file: one line naming it, file unchanged", async () => {
    const cfg = await cluster.files.write("unchanged", { roles: ["os:admin"] });
    const before = await readFile(cfg, "utf8");
    const r = await runTaloskitMain(["--talosconfig", cfg, "config", "context", "nope"]);
    expect(r).toEqual({
      stdout: "",
      stderr: `taloskit: context "nope" is not defined in ${cfg}\n`,
      code: 1,
    });
    const missing = join(cluster.files.dir, "does-not-exist");
    const m = await runTaloskitMain(["--talosconfig", cfg, "config", "merge", missing]);
    expect(m).toEqual({
      stdout: "",
      stderr: `taloskit: cannot read ${missing}: ENOENT\n`,
      code: 1,
    });
    expect(await readFile(cfg, "utf8")).toBe(before);
  });
});
