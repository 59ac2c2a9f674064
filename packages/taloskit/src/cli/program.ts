// The taloskit program: every command, the global flags accepted before or
// after any of them, and how a run ends (main.ts runs it on the process).
//
// Commands load only what they use: the program knows each command by a small
// spec (name, one-line summary, and how to load it), builds the one command a
// run names from its module, imported then, and lists the others by their
// specs. Adding a command is one entry in COMMANDS.
import { existsSync, readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { type Colours, coloursFor, setColours } from "./colour.js";
import {
  acceptGlobalFlags,
  type CommandIO,
  globalFlagsWithValues,
  processIO,
  reportFailure,
} from "./globals.js";

/** Everything the commands read and write: the process's by default. */
export interface ProgramIO extends CommandIO {
  readFile: (path: string) => string;
  exists: (path: string) => boolean;
  stdin: () => string;
  /** Whether stderr is a terminal (progress bars redraw in place). */
  isTTY: boolean;
  /**
   * Where colours go: by default where the process's stream is a terminal and
   * NO_COLOR is unset, and nowhere when stdout or stderr is replaced.
   */
  colours?: Colours;
}

const processProgramIO: ProgramIO = {
  ...processIO,
  readFile: (p) => readFileSync(p, "utf8"),
  exists: (p) => existsSync(p),
  stdin: () => readFileSync(0, "utf8"),
  isTTY: process.stderr.isTTY === true,
};

/** A command as the program knows it before it runs: cheap to list, loaded on use. */
export interface CommandSpec {
  name: string;
  /** One line for `taloskit --help`. */
  summary: string;
  /** Imports the command's module and builds the command. */
  load: (io: ProgramIO) => Promise<Command>;
}

/** Every command of `taloskit`, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "schematic",
    summary: "Image Factory schematics: IDs, creation, asset URLs, downloads",
    load: async (io) => (await import("./commands/schematic.js")).schematicCommand(io),
  },
  {
    name: "config",
    summary: "Machine configs: patch and validate",
    load: async (io) => (await import("./commands/config.js")).configCommand(io),
  },
  {
    name: "version",
    summary: "print the Talos version of nodes",
    load: async (io) => (await import("./commands/version.js")).versionCommand(io),
  },
  {
    name: "get",
    summary: "get resources (talosctl type names and aliases accepted)",
    load: async (io) => (await import("./commands/get.js")).getCommand(io),
  },
  {
    name: "hardware",
    summary: "what machines have, and the schematic, installer and patches they need",
    load: async (io) => (await import("./commands/hardware.js")).hardwareCommand(io),
  },
  {
    name: "sim",
    summary: "run a simulated Talos cluster and Image Factory, and write a talosconfig for it",
    load: async (io) => (await import("./commands/sim.js")).simCommand(io),
  },
  {
    name: "upgrade",
    summary:
      "plan and run Talos upgrades: every minor on the way, schematics kept, one safe step at a time",
    load: async (io) => (await import("./commands/upgrade.js")).upgradeCommand(io),
  },
];

/**
 * The command a run names: the first argument that is not a global flag or
 * its value (`help X` names X); undefined when there is none.
 */
export function commandNamed(args: readonly string[]): string | undefined {
  const withValue = globalFlagsWithValues();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") return args[i + 1];
    if (arg.startsWith("-")) {
      if (withValue.has(arg)) i++;
      continue;
    }
    if (arg === "help") {
      const next = args.slice(i + 1).find((a) => !a.startsWith("-"));
      return next ?? arg;
    }
    return arg;
  }
  return undefined;
}

/**
 * The `taloskit` command tree for a run of `args`: the command they name is
 * loaded and built, the others are listed by their specs. `overrides` replaces
 * parts of the process's IO.
 */
export async function createProgram(
  args: readonly string[],
  overrides: Partial<ProgramIO> = {},
  commands: readonly CommandSpec[] = COMMANDS,
): Promise<Command> {
  const io: ProgramIO = { ...processProgramIO, ...overrides };
  const named = commandNamed(args);
  const program = new Command("taloskit")
    .description("Script Talos Linux clusters: nodes, resources, schematics, configs and upgrades.")
    .version("0.1.0")
    .showHelpAfterError();
  for (const spec of commands) {
    program.addCommand(
      spec.name === named ? await spec.load(io) : new Command(spec.name).description(spec.summary),
    );
  }
  return acceptGlobalFlags(program);
}

/**
 * Runs `taloskit <args>` as the binary does. Usage errors print commander's
 * message and set its exit code; a command's failure is one line on stderr
 * and exit code 1. Nothing calls process.exit.
 */
export async function runTaloskit(
  args: string[],
  overrides: Partial<ProgramIO> = {},
  commands: readonly CommandSpec[] = COMMANDS,
): Promise<void> {
  const io: ProgramIO = { ...processProgramIO, ...overrides };
  const replaced = overrides.stdout !== undefined || overrides.stderr !== undefined;
  const before = setColours(
    io.colours ??
      (replaced
        ? { stdout: false, stderr: false }
        : coloursFor(
            { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
            io.env,
          )),
  );
  try {
    const program = await createProgram(args, io, commands);
    const visit = (cmd: Command) => {
      cmd.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
      for (const sub of cmd.commands) visit(sub);
    };
    visit(program);
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) process.exitCode = error.exitCode;
    else reportFailure(error, io);
  } finally {
    setColours(before);
  }
}
