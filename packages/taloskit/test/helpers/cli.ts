// Shared harness of the CLI tests: run a command with in-memory output and
// read its exit code, and a simulated cluster with talosconfig files to point
// the commands at.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClusterSimulator, type StartClusterOptions, startCluster } from "@taloskit/testing";
import { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { reportFailure } from "../../src/cli/globals.js";
import { type CommandSpec, type ProgramIO, runTaloskit } from "../../src/cli/program.js";

/** The output side every command's IO has. */
interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** What a command wrote and the exit code it set (`process.exitCode`, 0 when unset). */
export interface CliResult {
  stdout: string;
  stderr: string;
  code: NonNullable<typeof process.exitCode>;
}

/**
 * Builds the command from `io` plus capturing stdout/stderr and parses it. `make` is
 * a command factory such as `configCommand` (their IO is optional: the process's).
 */
async function capture<IO extends Output>(
  make: (io: IO | undefined) => Command,
  io: Omit<IO, keyof Output>,
  parse: (command: Command) => Promise<unknown>,
): Promise<CliResult & { error?: Error }> {
  const out = { stdout: "", stderr: "" };
  const command = make({
    ...io,
    stdout: (t: string) => {
      out.stdout += t;
    },
    stderr: (t: string) => {
      out.stderr += t;
    },
  } as IO);
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await parse(command);
    return { ...out, code: process.exitCode ?? 0 };
  } catch (error) {
    return { ...out, code: process.exitCode ?? 0, error: error as Error };
  } finally {
    process.exitCode = before;
  }
}

/**
 * Runs `make(io)` with user arguments (`["resolve", "-o", "json"]`, without the
 * command's own name). What the command throws is thrown.
 */
export async function runCli<IO extends Output>(
  make: (io: IO | undefined) => Command,
  args: string[],
  io: Omit<IO, keyof Output>,
): Promise<CliResult> {
  const r = await capture(make, io, (command) => command.parseAsync(args, { from: "user" }));
  if ("error" in r) throw r.error;
  return r;
}

/**
 * Runs `make(io)` with user arguments as the `taloskit` binary does: what the
 * command throws is reported by main's handler (one line on stderr, exit code 1).
 */
export async function runMain<IO extends Output>(
  make: (io: IO | undefined) => Command,
  args: string[],
  io: Omit<IO, keyof Output>,
): Promise<CliResult> {
  const r = await capture(make, io, (command) => command.parseAsync(args, { from: "user" }));
  if (!("error" in r)) return r;
  let stderr = r.stderr;
  const before = process.exitCode;
  try {
    reportFailure(r.error, {
      stderr: (t) => {
        stderr += t;
      },
    });
    return { stdout: r.stdout, stderr, code: process.exitCode ?? 0 };
  } finally {
    process.exitCode = before;
  }
}

/**
 * Runs `taloskit <args>` through the binary's own entry (the whole program,
 * global flags before or after the command, usage errors and failures as the
 * binary reports them), with in-memory stdout/stderr; `io` replaces more of
 * the process's IO (an empty environment unless given).
 */
export async function runTaloskitMain(
  args: string[],
  io: Partial<ProgramIO> = {},
  commands?: readonly CommandSpec[],
): Promise<CliResult> {
  const out = { stdout: "", stderr: "" };
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await runTaloskit(
      args,
      {
        env: {},
        ...io,
        stdout: (t) => {
          out.stdout += t;
        },
        stderr: (t) => {
          out.stderr += t;
        },
      },
      commands,
    );
    return { ...out, code: process.exitCode ?? 0 };
  } finally {
    process.exitCode = before;
  }
}

/**
 * Runs `taloskit <args>` (`["config", "patch", ...]`) on a program of just
 * `make(io)`, whose commands throw instead of exiting and print no usage
 * errors of their own. What the command throws comes back as `error`.
 */
export function runProgram<IO extends Output>(
  make: (io: IO | undefined) => Command,
  args: string[],
  io: Omit<IO, keyof Output>,
): Promise<CliResult & { error?: Error }> {
  return capture(make, io, (command) => {
    const program = new Command("taloskit").exitOverride().addCommand(command);
    for (const c of program.commands) {
      c.exitOverride();
      for (const s of c.commands)
        s.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    }
    return program.parseAsync(args, { from: "user" });
  });
}

/** A command's `readFile` over in-memory files: a missing one throws ENOENT, as the disk would. */
export function readFileFrom(files: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw new Error("ENOENT");
    return text;
  };
}

/** Options of `ClusterSimulator.talosconfig`. */
export type TalosconfigOptions = NonNullable<Parameters<ClusterSimulator["talosconfig"]>[0]>;

/** Talosconfig files of a simulated cluster in a temp dir of their own. */
export interface TalosconfigFiles {
  /** The temp dir, for more files of the test's own. */
  dir: string;
  /** Writes `sim.talosconfig(options)` to `<dir>/<name>` and returns its path. */
  write(name: string, options?: TalosconfigOptions): Promise<string>;
  /** Removes the dir. */
  remove(): Promise<void>;
}

/** A temp dir for talosconfig files of `sim`. */
export async function talosconfigFiles(sim: ClusterSimulator): Promise<TalosconfigFiles> {
  const dir = await mkdtemp(join(tmpdir(), "taloskit-cli-"));
  return {
    dir,
    async write(name, options) {
      const path = join(dir, name);
      await writeFile(path, sim.talosconfig(options));
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A simulated cluster for CLI tests, with its talosconfig written to a file. */
export interface CliCluster {
  sim: ClusterSimulator;
  /** Path of the talosconfig (`<files.dir>/talosconfig`). */
  cfg: string;
  files: TalosconfigFiles;
  /** Stops the cluster and removes the talosconfig files. */
  close(): Promise<void>;
}

/** Starts a simulated cluster and writes `sim.talosconfig(talosconfig)` for the CLI's `--talosconfig`. */
export async function startCliCluster(
  cluster: StartClusterOptions,
  talosconfig: TalosconfigOptions,
): Promise<CliCluster> {
  const sim = await startCluster(cluster);
  try {
    const files = await talosconfigFiles(sim);
    const cfg = await files.write("talosconfig", talosconfig);
    return {
      sim,
      cfg,
      files,
      async close() {
        await sim.close();
        await files.remove();
      },
    };
  } catch (error) {
    await sim.close();
    throw error;
  }
}

/**
 * The documents of `-o json` output, a stream of JSON values one after another
 * (as talosctl prints them); throws unless the text is exactly such a stream.
 */
export function parseJsonStream(text: string): unknown[] {
  const docs: unknown[] = [];
  let start = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) {
        docs.push(JSON.parse(text.slice(start, i + 1)));
        start = i + 1;
      }
    }
  }
  if (text.slice(start).trim() !== "") throw new Error(`trailing text after JSON documents`);
  return docs;
}

/** The documents of `-o yaml` output (`---`-separated), read as YAML 1.1 readers read them. */
export function parseYamlStream(text: string): unknown[] {
  return parseAllDocuments(text, { version: "1.1" }).map((d) => {
    if (d.errors.length) throw d.errors[0];
    return d.toJS();
  });
}
