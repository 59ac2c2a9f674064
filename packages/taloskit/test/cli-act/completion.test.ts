// `taloskit completion bash|zsh|fish`: the scripts come from the command tree,
// and bash completes with the one printed.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runTaloskitMain } from "../helpers/cli.js";

const complete = (script: string, words: string[]) =>
  execFileSync(
    "bash",
    [
      "-c",
      `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _taloskit; echo "\${COMPREPLY[*]}"`,
      "bash",
      script,
    ],
    { encoding: "utf8" },
  ).trim();

describe("taloskit completion", () => {
  it("bash completes commands, subcommands and flags, past global flags", async () => {
    const r = await runTaloskitMain(["completion", "bash"]);
    expect(r.code).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), "taloskit-completion-"));
    try {
      const script = join(dir, "taloskit.bash");
      writeFileSync(script, r.stdout);
      expect(complete(script, ["taloskit", "etc"])).toBe("etcd");
      expect(complete(script, ["taloskit", "-n", "10.5.0.2", "etcd", "al"])).toBe("alarm");
      expect(complete(script, ["taloskit", "etcd", "alarm", ""])).toBe("list");
      expect(complete(script, ["taloskit", "reset", "--gr"])).toBe("--graceful");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("zsh and fish scripts; an unknown shell is one line, exit 1", async () => {
    const zsh = await runTaloskitMain(["completion", "zsh"]);
    expect(zsh.stdout).toMatch(/^#compdef taloskit\n/);
    expect(zsh.stdout).toContain("bashcompinit");
    const fish = await runTaloskitMain(["completion", "fish"]);
    expect(fish.stdout).toContain("complete -c taloskit -n __fish_use_subcommand -a 'kubeconfig'");
    expect(fish.stdout).toContain(
      "complete -c taloskit -n '__fish_seen_subcommand_from etcd' -a 'snapshot'",
    );
    const bad = await runTaloskitMain(["completion", "tcsh"]);
    expect(bad).toEqual({
      stdout: "",
      stderr: 'taloskit: unsupported shell "tcsh": use bash, zsh or fish\n',
      code: 1,
    });
  });
});
