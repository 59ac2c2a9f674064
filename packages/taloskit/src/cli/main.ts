#!/usr/bin/env node
// The taloskit command line. Commands are registered by the capability that owns them.
import { Command } from "commander";
import { configCommand } from "./commands/config.js";
import { getCommand } from "./commands/get.js";
import { hardwareCommand } from "./commands/hardware.js";
import { schematicCommand } from "./commands/schematic.js";
import { simCommand } from "./commands/sim.js";
import { upgradeCommand } from "./commands/upgrade.js";
import { versionCommand } from "./commands/version.js";
import { reportFailure } from "./globals.js";

export function createProgram(): Command {
  return new Command("taloskit")
    .description("Script Talos Linux clusters: nodes, resources, schematics, configs and upgrades.")
    .version("0.1.0")
    .showHelpAfterError()
    .addCommand(schematicCommand())
    .addCommand(configCommand())
    .addCommand(versionCommand())
    .addCommand(getCommand())
    .addCommand(hardwareCommand())
    .addCommand(simCommand())
    .addCommand(upgradeCommand());
}

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => reportFailure(error));
