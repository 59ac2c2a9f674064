// The program loads only the command a run names; the others are listed by
// their specs. And relative paths are the user's, also through `pnpm taloskit`.
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { userDirectory } from "../src/cli/globals.js";
import { COMMANDS, type CommandSpec, commandNamed } from "../src/cli/program.js";
import { runTaloskitMain } from "./helpers/cli.js";

describe("commandNamed", () => {
  it.each([
    [["schematic", "id", "f.yaml"], "schematic"],
    [["-n", "10.5.0.2", "--talosconfig", "tc", "version"], "version"],
    [["--nodes=10.5.0.2", "-i", "get", "members"], "get"],
    [["-o", "json", "-e", "a,b", "upgrade", "plan"], "upgrade"],
    [["help", "schematic"], "schematic"],
    [["help"], "help"],
    [["--help"], undefined],
    [[], undefined],
  ])("%j names %s", (args, name) => {
    expect(commandNamed(args)).toBe(name);
  });
});

describe("lazy commands", () => {
  const specs = (loaded: string[]): CommandSpec[] =>
    ["one", "two"].map((name) => ({
      name,
      summary: `the ${name} command`,
      load: async (io) => {
        loaded.push(name);
        return new Command(name).option("--flag").action(() => io.stdout(`${name} ran\n`));
      },
    }));

  it("loads the named command only", async () => {
    const loaded: string[] = [];
    const r = await runTaloskitMain(["-n", "x", "two", "--flag"], {}, specs(loaded));
    expect(r).toMatchObject({ code: 0, stdout: "two ran\n" });
    expect(loaded).toEqual(["two"]);
  });

  it("lists every command in help without loading any", async () => {
    const loaded: string[] = [];
    const r = await runTaloskitMain(["--help"], {}, specs(loaded));
    expect(r.stdout).toContain("the one command");
    expect(r.stdout).toContain("the two command");
    expect(loaded).toEqual([]);
  });

  it("has a spec for every built-in command, each loading a command of its name", async () => {
    expect(COMMANDS.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "config",
        "get",
        "hardware",
        "schematic",
        "sim",
        "upgrade",
        "version",
      ]),
    );
    for (const spec of COMMANDS) {
      const cmd = await spec.load({} as never);
      expect(cmd.name()).toBe(spec.name);
      expect(cmd.description()).toBe(spec.summary);
      expect(cmd.aliases()).toEqual(spec.aliases ?? []);
    }
  });
});

describe("userDirectory", () => {
  it("is INIT_CWD when run through the root script from elsewhere", () => {
    const env = { npm_lifecycle_event: "taloskit", INIT_CWD: "/home/me/cluster" };
    expect(userDirectory(env, "/repo")).toBe("/home/me/cluster");
  });
  it("is the process's directory otherwise", () => {
    expect(userDirectory({ INIT_CWD: "/home/me" }, "/repo")).toBe("/repo");
    expect(userDirectory({ npm_lifecycle_event: "taloskit" }, "/repo")).toBe("/repo");
    expect(userDirectory({ npm_lifecycle_event: "build", INIT_CWD: "/x" }, "/repo")).toBe("/repo");
  });
});
