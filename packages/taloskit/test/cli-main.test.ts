// The taloskit binary's own entry: global flags before or after the command
// (as talosctl and `taloskit sim`'s hints put them), and every command of the
// README's CLI block run against a simulated cluster like `taloskit sim`'s.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type FactoryServer,
  type StartClusterOptions,
  startFactoryServer,
} from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { DEFAULT_SIM_NODES, parseSimNodes } from "../src/cli/commands/sim.js";
import { fixture } from "./config/helpers.js";
import {
  type CliCluster,
  parseJsonStream,
  parseYamlStream,
  runTaloskitMain,
  startCliCluster,
} from "./helpers/cli.js";

let cluster: CliCluster;
let factory: FactoryServer;
let cfg: string;

beforeAll(async () => {
  // The cluster `taloskit sim` starts, with its talosconfig (all its configured nodes).
  cluster = await startCliCluster(
    { nodes: parseSimNodes(DEFAULT_SIM_NODES) as StartClusterOptions["nodes"] },
    { context: "sim", nodes: ["10.5.0.2", "10.5.0.3"] },
  );
  cfg = cluster.cfg;
  factory = await startFactoryServer();
});
afterAll(async () => {
  await factory?.close();
  await cluster?.close();
});

const main = (...args: string[]) => runTaloskitMain(args);
const nodesOf = (stdout: string) =>
  parseJsonStream(stdout).map((d) => (d as { node: string }).node);

describe("global flags before or after the command", () => {
  it("takes them before the command, as talosctl does", async () => {
    const r = await main("--talosconfig", cfg, "-n", "10.5.0.2,10.5.0.3", "-o", "json", "version");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(parseJsonStream(r.stdout)).toMatchObject([
      { node: "10.5.0.2", version: { tag: "v1.14.0" } },
      { node: "10.5.0.3", version: { tag: "v1.13.9" } },
    ]);
  });

  it("takes them split around the command; the one nearest the command wins, lists add up", async () => {
    const r = await main(
      "-o",
      "yaml",
      "-n",
      "10.5.0.2",
      "version",
      "-n",
      "10.5.0.3",
      "--talosconfig",
      cfg,
      "-o",
      "json",
    );
    expect(r.stderr).toBe("");
    expect(nodesOf(r.stdout)).toEqual(["10.5.0.2", "10.5.0.3"]);
    const y = await main("--talosconfig", cfg, "-o", "yaml", "get", "pcidevices", "-n", "10.5.0.3");
    expect(y.code).toBe(0);
    const docs = parseYamlStream(y.stdout) as { node: string; metadata: { id: unknown } }[];
    expect(docs.length).toBeGreaterThan(1);
    expect(docs.every((d) => d.node === "10.5.0.3" && typeof d.metadata.id === "string")).toBe(
      true,
    );
  });

  it("takes them before a command group and before its subcommand", async () => {
    for (const args of [
      ["--talosconfig", cfg, "-n", "10.5.0.2", "hardware", "inventory", "-o", "json"],
      ["--talosconfig", cfg, "hardware", "-n", "10.5.0.2", "-o", "json", "inventory"],
      ["hardware", "inventory", "--talosconfig", cfg, "-n", "10.5.0.2", "-o", "json"],
    ]) {
      const r = await main(...args);
      expect(r.stderr, args.join(" ")).toBe("");
      expect(parseJsonStream(r.stdout)).toMatchObject([{ name: "10.5.0.2" }]);
    }
  });

  it("takes --insecure, -e, --context and -o before the command", async () => {
    const m = cluster.sim.node("10.5.0.4");
    const r = await main(
      "--insecure",
      "-n",
      m.endpoint,
      "--cert-fingerprint",
      m.maintenanceFingerprint ?? "",
      "-o",
      "json",
      "version",
    );
    expect(r.stderr).toBe("");
    expect(nodesOf(r.stdout)).toEqual([m.endpoint]);
    const e = await main(
      "--talosconfig",
      cfg,
      "-e",
      cluster.sim.endpoint,
      "--context",
      "nope",
      "version",
    );
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/^taloskit: .*context "nope" not found/);
    const file = join(cluster.files.dir, "s.yaml");
    writeFileSync(
      file,
      "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/zfs]\n",
    );
    const s = await main("-o", "json", "schematic", "id", file);
    expect(s.stderr).toBe("");
    expect(parseJsonStream(s.stdout)).toMatchObject([
      { id: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
  });

  it("still refuses an unknown option, with a usage error", async () => {
    const r = await main("--talosconfig", cfg, "--bogus", "version");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(r.stdout).toBe("");
  });
});

describe("what `taloskit sim` tells a new user to run", () => {
  it("runs each printed command against the cluster", async () => {
    const out = join(cluster.files.dir, "sim.talosconfig.yaml");
    const r = await main("sim", "--once", "--talosconfig-out", out);
    expect(r.code).toBe(0);
    const tries = r.stdout
      .slice(r.stdout.indexOf("try:\n") + 5)
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    expect(tries.length).toBeGreaterThan(1);
    for (const line of tries) {
      // The printed talosconfig belongs to the sim that --once stopped: point at this test's one.
      const args = line
        .split(/\s+/)
        .slice(1)
        .map((a) => (a === out ? cfg : a));
      const t = await main(...args);
      expect(t.stderr, line).toBe("");
      expect(t.code, line).toBe(0);
      expect(t.stdout, line).toMatch(/^NODE\s/);
    }
  });
});

describe("the README's CLI block", () => {
  const readme = readFileSync(
    fileURLToPath(new URL("../../../README.md", import.meta.url)),
    "utf8",
  );
  const block = /from a clone run it as[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  const lines = block.split("\n").filter((l) => l.startsWith("npx pnpm@10 taloskit "));
  /** Each command's arguments, without comments and [optional] parts. */
  const commands = lines.map((l) =>
    l
      .slice("npx pnpm@10 taloskit ".length)
      .replace(/\s#.*$/, "")
      .replace(/\[[^\]]*\]/g, "")
      .trim()
      .split(/\s+/),
  );

  it("has the commands", () => {
    expect(commands.length).toBeGreaterThanOrEqual(10);
    expect(commands.map((c) => c.slice(0, 2).join(" "))).toContain("version -n");
  });

  it("runs every command against the simulated cluster and factory", async () => {
    const dir = cluster.files.dir;
    const files: Record<string, string> = {
      "box.txt": readFileSync(
        fileURLToPath(new URL("fixtures/lspci/hgx-h100.txt", import.meta.url)),
        "utf8",
      ),
      "schematic.yaml":
        "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/zfs]\n",
      "base.yaml": fixture("multidoc/config.yaml"),
      "patch1.yaml": fixture("multidoc/strategic1.yaml"),
      "patch2.yaml": fixture("multidoc/strategic2.yaml"),
      "ops.json": JSON.stringify(parseYaml(fixture("multidoc/jsonpatch.yaml"))),
      "controlplane.yaml": fixture("patchmixed/expected.yaml"),
      "patch.yaml": "machine:\n  features:\n    diskQuotaSupport: true\n",
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    copyFileSync(cfg, join(dir, "talosconfig.sim.yaml"));
    const at = (p: string) => (isAbsolute(p) ? p : join(dir, p));
    const io = {
      // As a user who ran `taloskit sim` in `dir` and exported its talosconfig.
      env: { TALOSCONFIG: join(dir, "talosconfig.sim.yaml") },
      readFile: (p: string) => readFileSync(at(p), "utf8"),
      exists: (p: string) => existsSync(at(p)),
    };
    let id = "";
    for (const [i, command] of commands.entries()) {
      // <id> is the ID `schematic id` printed, <factory-url> the factory `taloskit sim` printed.
      let args = command.map((a) => (a === "<id>" ? id : a === "<factory-url>" ? factory.url : a));
      if (args[0] === "sim")
        args = [...args, "--once", "--talosconfig-out", join(dir, "sim-out.yaml")];
      const r = await runTaloskitMain(args, io);
      expect(
        r.stderr.split("\n").filter((l) => l.startsWith("taloskit:")),
        command.join(" "),
      ).toEqual([]);
      // 0, or the code the line's comment names ("# ... exits 2: ...").
      const code = Number(/#.*\bexits (\d)\b/.exec(lines[i] as string)?.[1] ?? 0);
      expect(r.code, `${command.join(" ")}\n${r.stderr}`).toBe(code);
      expect(r.stdout, command.join(" ")).not.toBe("");
      if (args[0] === "schematic" && args[1] === "id") id = r.stdout.trim();
    }
    expect(id).toMatch(/^[0-9a-f]{64}$/);
  });
});
