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
  /** Other names the command answers to (talosctl's: `ps` for processes, `ls` for list, ...). */
  aliases?: readonly string[];
  /** The command reads the whole command tree (completion): every command is loaded with it. */
  needsTree?: boolean;
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
    summary:
      "Machine configs (patch, validate, apply) and the talosconfig (contexts, merge, endpoints, nodes)",
    load: async (io) => {
      const [{ configCommand }, { withTalosconfigCommands }] = await Promise.all([
        import("./commands/config.js"),
        import("./commands/talosconfig.js"),
      ]);
      return withTalosconfigCommands(configCommand(io), io);
    },
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
    load: async (io) => {
      const [{ upgradeCommand }, { withImageUpgrade }] = await Promise.all([
        import("./commands/upgrade.js"),
        import("./commands/upgrade-image.js"),
      ]);
      return withImageUpgrade(upgradeCommand(io), io);
    },
  },
  {
    name: "gen",
    summary: "Generate a new cluster's secrets and configs",
    load: async (io) => (await import("./commands/gen.js")).genCommand(io),
  },
  {
    name: "logs",
    summary: "retrieve logs for a service or container",
    load: async (io) => (await import("./commands/logs.js")).logsCommand(io),
  },
  {
    name: "dmesg",
    summary: "retrieve kernel logs",
    load: async (io) => (await import("./commands/logs.js")).dmesgCommand(io),
  },
  {
    name: "events",
    summary: "stream runtime events",
    load: async (io) => (await import("./commands/events.js")).eventsCommand(io),
  },
  {
    name: "service",
    aliases: ["services"],
    summary: "show the services of nodes or one service's status; start, stop or restart one",
    load: async (io) => {
      const [{ serviceCommand }, { serviceControl }] = await Promise.all([
        import("./commands/services.js"),
        import("./commands/service.js"),
      ]);
      return serviceCommand(io, serviceControl(io));
    },
  },
  {
    name: "containers",
    aliases: ["c"],
    summary: "list containers",
    load: async (io) => (await import("./commands/inspect.js")).containersCommand(io),
  },
  {
    name: "stats",
    summary: "get container stats",
    load: async (io) => (await import("./commands/inspect.js")).statsCommand(io),
  },
  {
    name: "processes",
    aliases: ["p", "ps"],
    summary: "list running processes",
    load: async (io) => (await import("./commands/inspect.js")).processesCommand(io),
  },
  {
    name: "memory",
    aliases: ["m"],
    summary: "show memory usage",
    load: async (io) => (await import("./commands/inspect.js")).memoryCommand(io),
  },
  {
    name: "mounts",
    summary: "list mounts",
    load: async (io) => (await import("./commands/inspect.js")).mountsCommand(io),
  },
  {
    name: "time",
    summary: "get the node's time, against its time server",
    load: async (io) => (await import("./commands/inspect.js")).timeCommand(io),
  },
  {
    name: "read",
    summary: "read a file on the machine",
    load: async (io) => (await import("./commands/files.js")).readCommand(io),
  },
  {
    name: "list",
    aliases: ["ls"],
    summary: "retrieve a directory listing",
    load: async (io) => (await import("./commands/files.js")).listCommand(io),
  },
  {
    name: "cp",
    summary:
      "copy a file or directory from a node into a local directory (- for a tar.gz on stdout)",
    load: async (io) => (await import("./commands/cp.js")).cpCommand(io),
  },
  {
    name: "health",
    summary: "check the cluster's health",
    load: async (io) => (await import("./commands/health.js")).healthCommand(io),
  },
  {
    name: "reboot",
    summary: "reboot the nodes",
    load: async (io) => (await import("./commands/power.js")).rebootCommand(io),
  },
  {
    name: "shutdown",
    summary: "shut the nodes down",
    load: async (io) => (await import("./commands/power.js")).shutdownCommand(io),
  },
  {
    name: "reset",
    summary: "wipe the nodes and return them to maintenance mode or power them off (asks first)",
    load: async (io) => (await import("./commands/power.js")).resetCommand(io),
  },
  {
    name: "etcd",
    summary: "manage the etcd cluster of the control-plane nodes",
    load: async (io) => (await import("./commands/etcd.js")).etcdCommand(io),
  },
  {
    name: "bootstrap",
    summary: "bootstrap the etcd cluster on one control-plane node (once, on a new cluster)",
    load: async (io) => (await import("./commands/bootstrap.js")).bootstrapCommand(io),
  },
  {
    name: "kubeconfig",
    summary:
      "download the admin kubeconfig from a control-plane node and merge it into PATH (default ~/.kube/config), or print it with -",
    load: async (io) => (await import("./commands/kubeconfig.js")).kubeconfigCommand(io),
  },
  {
    name: "apply-config",
    summary: "apply a new machine config to the nodes",
    load: async (io) => (await import("./commands/apply-config.js")).applyConfigCommand(io),
  },
  {
    name: "patch",
    summary: "patch a resource of the nodes (machineconfig, alias mc)",
    load: async (io) => (await import("./commands/patch.js")).patchCommand(io),
  },
  {
    name: "completion",
    needsTree: true,
    summary: "print a shell completion script: bash, zsh or fish",
    load: async (io) => (await import("./commands/completion.js")).completionCommand(io),
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
  const wanted = commands.find((c) => c.name === named || c.aliases?.includes(named ?? ""));
  const program = new Command("taloskit")
    .description("Script Talos Linux clusters: nodes, resources, schematics, configs and upgrades.")
    .version("0.1.0")
    .showHelpAfterError();
  const loadAll = wanted?.needsTree === true;
  for (const spec of commands) {
    program.addCommand(
      spec === wanted || loadAll
        ? await spec.load(io)
        : new Command(spec.name).aliases(spec.aliases ?? []).description(spec.summary),
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
