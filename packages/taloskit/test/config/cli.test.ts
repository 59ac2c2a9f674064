// `taloskit config patch|validate` with in-memory input and output.
import { describe, expect, it } from "vitest";
import { configCommand } from "../../src/cli/commands/config.js";
import { readFileFrom, runProgram } from "../helpers/cli.js";
import { fixture, semantic } from "./helpers.js";

const FILES: Record<string, string> = {
  "base.yaml": fixture("multidoc/config.yaml"),
  "p1.yaml": fixture("multidoc/strategic1.yaml"),
  "p2.yaml": fixture("multidoc/strategic2.yaml"),
  "p3.yaml": fixture("multidoc/strategic3.yaml"),
  "json.yaml": fixture("multidoc/jsonpatch.yaml"),
  "good.yaml": fixture("patchmixed/expected.yaml"),
  // Talos loads it as a patch, and refuses it as a whole config (no cluster, no CA)
  "partial.yaml": "machine:\n  certSANs: [x]\n",
  // Talos 1.14 still reads these; they moved to KernelModuleConfig and SysctlConfig
  "deprecated.yaml":
    "machine:\n  kernel:\n    modules: [{name: br_netfilter}]\n  sysctls:\n    vm.swappiness: 130\n",
};

const run = (...args: string[]) =>
  runProgram(configCommand, args, {
    readFile: readFileFrom(FILES),
    exists: (p) => p in FILES,
    stdin: () => FILES["base.yaml"] ?? "",
  });

describe("taloskit config patch", () => {
  it("prints the merged config (files, @files and inline patches)", async () => {
    const r = await run("config", "patch", "base.yaml", "@p1.yaml", "p2.yaml", "p3.yaml");
    expect(r.error).toBeUndefined();
    expect(semantic(r.stdout)).toEqual(semantic(fixture("multidoc/expected.yaml")));
    const inline = await run("config", "patch", "-", "machine: {certSANs: [x]}", "--diff");
    expect(inline.stdout).toContain("certSANs");
    expect(inline.stderr).toContain("+++ patched");
  });

  it("fails with Talos's message for JSON6902 on a multi-document config", async () => {
    const r = await run("config", "patch", "base.yaml", "json.yaml");
    expect(r.error?.message).toBe(
      "JSON6902 patches are not supported for multi-document machine configuration",
    );
    expect(r.stdout).toBe("");
  });

  it("--rewrite-json6902 applies JSON6902 patches to a multi-document config", async () => {
    const r = await run("config", "patch", "base.yaml", "json.yaml", "--rewrite-json6902");
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain("10.1.2.3/24");
    expect(r.stderr).toBe("");
    const shown = await run(
      "config",
      "patch",
      "base.yaml",
      "json.yaml",
      "p1.yaml",
      "--rewrite-json6902",
      "--print-rewritten",
    );
    expect(shown.error).toBeUndefined();
    expect(shown.stderr).toContain("# rewritten json.yaml\n");
    expect(shown.stderr).toContain("$patch: delete");
    expect(
      (await run("config", "patch", "base.yaml", "json.yaml", "--print-rewritten")).error?.message,
    ).toMatch(/--print-rewritten needs --rewrite-json6902/);
  });

  it("fails on missing patch files, unknown kinds and invalid results", async () => {
    expect((await run("config", "patch", "base.yaml", "nope.yaml")).error?.message).toMatch(
      /no such file/,
    );
    expect((await run("config", "patch", "missing.yaml", "p1.yaml")).error?.message).toMatch(
      /cannot read/,
    );
    const kms = "apiVersion: v1alpha1\nkind: KernelModuleConfig\nname: x\n";
    expect(
      (await run("config", "patch", "base.yaml", kms, "--talos-version", "1.13")).error?.message,
    ).toMatch(/not registered in Talos 1.13/);
    const bad = await run(
      "config",
      "patch",
      "base.yaml",
      "p1.yaml",
      "--talos-version",
      "1.14",
      "--validate",
    );
    expect(bad.error?.message).toMatch(/not valid for Talos 1.14.*path 'cluster'/);
    expect(
      (await run("config", "patch", "base.yaml", "p1.yaml", "--validate")).error?.message,
    ).toMatch(/needs --talos-version/);
  });
});

describe("taloskit config validate", () => {
  it("reports validity in table, json and yaml", async () => {
    expect((await run("config", "validate", "good.yaml", "--talos-version", "1.14")).stdout).toBe(
      "valid for Talos 1.14\n",
    );
    const json = await run(
      "config",
      "validate",
      "good.yaml",
      "--talos-version",
      "v1.13.0",
      "-o",
      "json",
    );
    expect(JSON.parse(json.stdout)).toEqual({
      valid: true,
      talosVersion: "1.13",
      issues: [],
      warnings: [],
    });
    expect(
      (await run("config", "validate", "good.yaml", "--talos-version", "1.12", "-o", "yaml"))
        .stdout,
    ).toContain("valid: true");
  });

  it("lists issues and fails for an invalid config", async () => {
    const r = await run("config", "validate", "base.yaml", "--talos-version", "1.14");
    expect(r.stdout).toMatch(/DOCUMENT\s+PATH\s+RULE\s+MESSAGE/);
    // Talos 1.14 refuses it for its missing cluster section and CA
    expect(r.stdout).toMatch(/\/v1alpha1\s+cluster\s+required/);
    expect(r.stdout).toMatch(/\/v1alpha1\s+machine\.ca\s+required/);
    expect(r.error?.message).toMatch(/base.yaml is not valid for Talos 1.14: 2 problem/);
  });

  it("treats patches as partial with --patch", async () => {
    const whole = await run("config", "validate", "partial.yaml", "--talos-version", "1.14");
    expect(whole.error?.message).toBe("partial.yaml is not valid for Talos 1.14: 2 problem(s)");
    expect(whole.stdout).toMatch(/\/v1alpha1\s+cluster\s+required/);
    expect(
      (await run("config", "validate", "partial.yaml", "--talos-version", "1.14", "--patch")).error,
    ).toBeUndefined();
  });

  it("accepts deprecated fields and names their replacements on stderr", async () => {
    const r = await run(
      "config",
      "validate",
      "deprecated.yaml",
      "--talos-version",
      "1.14",
      "--patch",
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout).toBe("valid for Talos 1.14\n");
    expect(r.stderr).toContain("warning: /v1alpha1 machine.kernel:");
    expect(r.stderr).toMatch(/machine\.kernel: .*KernelModuleConfig/);
    expect(r.stderr).toMatch(/machine\.sysctls: .*SysctlConfig/);
  });

  it("needs --talos-version", async () => {
    const r = await run("config", "validate", "good.yaml");
    expect(r.error).toMatchObject({
      code: "commander.missingMandatoryOptionValue",
      message: "error: required option '--talos-version <version>' not specified",
    });
    expect(r.stdout).toBe("");
  });
});
