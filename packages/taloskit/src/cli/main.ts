#!/usr/bin/env node
// The taloskit command line (the program is in program.ts).
import { runTaloskit } from "./program.js";

void runTaloskit(process.argv.slice(2));
