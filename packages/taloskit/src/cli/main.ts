#!/usr/bin/env node
// The taloskit command line (the program is in program.ts).
import { userDirectory } from "./globals.js";
import { runTaloskit } from "./program.js";

// Relative paths on the command line are the user's, also through `pnpm taloskit`.
const dir = userDirectory(process.env, process.cwd());
if (dir !== process.cwd()) process.chdir(dir);
void runTaloskit(process.argv.slice(2));
