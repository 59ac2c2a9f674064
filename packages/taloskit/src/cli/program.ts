// The taloskit program: every command, the global flags accepted before or
// after any of them, and how a run ends (main.ts runs it on the process).
import { existsSync, readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { applyConfigCommand } from "./commands/apply-config.js";
import { bootstrapCommand } from "./commands/bootstrap.js";
import { completionCommand } from "./commands/completion.js";
import { configCommand } from "./commands/config.js";
import { cpCommand } from "./commands/cp.js";
import { etcdCommand } from "./commands/etcd.js";
import { eventsCommand } from "./commands/events.js";
import { listCommand, readCommand } from "./commands/files.js";
import { genCommand } from "./commands/gen.js";
import { getCommand } from "./commands/get.js";
import { hardwareCommand } from "./commands/hardware.js";
import { healthCommand } from "./commands/health.js";
import {
  containersCommand,
  memoryCommand,
  mountsCommand,
  processesCommand,
  statsCommand,
  timeCommand,
} from "./commands/inspect.js";
import { kubeconfigCommand } from "./commands/kubeconfig.js";
import { dmesgCommand, logsCommand } from "./commands/logs.js";
import { patchCommand } from "./commands/patch.js";
import { rebootCommand, resetCommand, shutdownCommand } from "./commands/power.js";
import { schematicCommand } from "./commands/schematic.js";
import { serviceControl } from "./commands/service.js";
import { serviceCommand } from "./commands/services.js";
import { simCommand } from "./commands/sim.js";
import { withTalosconfigCommands } from "./commands/talosconfig.js";
import { upgradeCommand } from "./commands/upgrade.js";
import { withImageUpgrade } from "./commands/upgrade-image.js";
import { versionCommand } from "./commands/version.js";
import { acceptGlobalFlags, type CommandIO, processIO, reportFailure } from "./globals.js";

/** Everything the commands read and write: the process's by default. */
export interface ProgramIO extends CommandIO {
  readFile: (path: string) => string;
  exists: (path: string) => boolean;
  stdin: () => string;
  /** Whether stderr is a terminal (progress bars redraw in place). */
  isTTY: boolean;
}

const processProgramIO: ProgramIO = {
  ...processIO,
  readFile: (p) => readFileSync(p, "utf8"),
  exists: (p) => existsSync(p),
  stdin: () => readFileSync(0, "utf8"),
  isTTY: process.stderr.isTTY === true,
};

/**
 * The `taloskit` command tree; `io` replaces parts of the process's IO. Commands
 * are registered by the capability that owns them.
 */
export function createProgram(overrides: Partial<ProgramIO> = {}): Command {
  const io: ProgramIO = { ...processProgramIO, ...overrides };
  const program = new Command("taloskit")
    .description("Script Talos Linux clusters: nodes, resources, schematics, configs and upgrades.")
    .version("0.1.0")
    .showHelpAfterError()
    .addCommand(schematicCommand(io))
    .addCommand(withTalosconfigCommands(configCommand(io), io))
    .addCommand(versionCommand(io))
    .addCommand(getCommand(io))
    .addCommand(hardwareCommand(io))
    .addCommand(simCommand(io))
    .addCommand(withImageUpgrade(upgradeCommand(io), io))
    .addCommand(serviceCommand(io, serviceControl(io)))
    .addCommand(rebootCommand(io))
    .addCommand(shutdownCommand(io))
    .addCommand(resetCommand(io))
    .addCommand(etcdCommand(io))
    .addCommand(bootstrapCommand(io))
    .addCommand(kubeconfigCommand(io))
    .addCommand(cpCommand(io))
    .addCommand(applyConfigCommand(io))
    .addCommand(patchCommand(io))
    .addCommand(completionCommand(io))
    .addCommand(genCommand(io))
    .addCommand(logsCommand(io))
    .addCommand(dmesgCommand(io))
    .addCommand(containersCommand(io))
    .addCommand(statsCommand(io))
    .addCommand(processesCommand(io))
    .addCommand(memoryCommand(io))
    .addCommand(mountsCommand(io))
    .addCommand(timeCommand(io))
    .addCommand(readCommand(io))
    .addCommand(listCommand(io))
    .addCommand(eventsCommand(io))
    .addCommand(healthCommand(io));
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
): Promise<void> {
  const io: ProgramIO = { ...processProgramIO, ...overrides };
  const program = createProgram(io);
  const visit = (cmd: Command) => {
    cmd.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) process.exitCode = error.exitCode;
    else reportFailure(error, io);
  }
}
