// `taloskit config patch|validate`: merge patches into a config with Talos's rules,
// and check a config against the schema of a Talos version.
import { existsSync, readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { type ConfigPatch, loadPatch, patchConfig } from "../../config/patch.js";
import { validateConfig } from "../../config/validate.js";
import { OUTPUT_FORMATS, parseOutputFormat, render } from "../output.js";

/** Where the command reads and writes (the process by default; tests pass their own). */
export interface ConfigCommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => string;
  exists: (path: string) => boolean;
  stdin: () => string;
}

const processIO: ConfigCommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readFileSync(p, "utf8"),
  exists: (p) => existsSync(p),
  stdin: () => readFileSync(0, "utf8"),
};

function readInput(io: ConfigCommandIO, path: string): string {
  if (path === "-") return io.stdin();
  try {
    return io.readFile(path);
  } catch {
    throw new Error(`cannot read ${path}`);
  }
}

/** A patch argument: `@file`, a path to a file, or inline YAML/JSON. */
function patchArg(io: ConfigCommandIO, arg: string): ConfigPatch {
  if (arg.startsWith("@")) return loadPatch(readInput(io, arg.slice(1)), arg.slice(1));
  if (io.exists(arg)) return loadPatch(readInput(io, arg), arg);
  if (/[:[{]/.test(arg)) return loadPatch(arg, "inline patch");
  throw new Error(`patch ${arg}: no such file (use @file, a path, or inline YAML)`);
}

/** The `config` command group. */
export function configCommand(io: ConfigCommandIO = processIO): Command {
  const config = new Command("config").description("Machine configs: patch and validate");

  config
    .command("patch")
    .description("merge patches (strategic merge or JSON6902) into a config; merged YAML on stdout")
    .argument("<base>", "base config file, or - for stdin")
    .argument("<patch...>", "patches: @file, a file path, or inline YAML")
    .option("--talos-version <version>", "refuse document kinds this Talos version does not know")
    .option("--validate", "also validate the merged config (needs --talos-version)")
    .option("--diff", "print a unified diff of the change on stderr")
    .action(
      (
        base: string,
        patches: string[],
        opts: { talosVersion?: string; validate?: boolean; diff?: boolean },
      ) => {
        if (opts.validate && !opts.talosVersion)
          throw new Error("--validate needs --talos-version");
        const result = patchConfig(
          readInput(io, base),
          patches.map((p) => patchArg(io, p)),
          {
            ...(opts.talosVersion ? { talosVersion: opts.talosVersion } : {}),
            diff: opts.diff === true,
          },
        );
        if (opts.validate && opts.talosVersion) {
          const v = validateConfig(result.text, opts.talosVersion);
          if (!v.valid) {
            const first = v.issues[0];
            throw new Error(
              `merged config is not valid for Talos ${v.talosVersion}: ${v.issues.length} problem(s), first: document '${first?.document}' path '${first?.path}' (${first?.rule}): ${first?.message}`,
            );
          }
        }
        if (opts.diff && result.diff) io.stderr(result.diff.unified);
        io.stdout(result.text);
      },
    );

  config
    .command("validate")
    .description("validate a config against the machine-config schema of a Talos version")
    .argument("<file>", "config file, or - for stdin")
    .requiredOption("--talos-version <version>", "Talos version, e.g. 1.14 or v1.14.2")
    .option("--patch", "the file is a patch: missing required fields are not errors")
    .addOption(
      new Option("-o, --output <format>", "output format")
        .choices([...OUTPUT_FORMATS])
        .default("table"),
    )
    .action((file: string, opts: { talosVersion: string; patch?: boolean; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const result = validateConfig(readInput(io, file), opts.talosVersion, {
        partial: opts.patch === true,
      });
      if (format === "table") {
        if (result.valid) io.stdout(`valid for Talos ${result.talosVersion}\n`);
        else {
          io.stdout(
            render(format, result, {
              rows: result.issues,
              columns: [
                { header: "DOCUMENT", value: (i) => i.document },
                { header: "PATH", value: (i) => i.path },
                { header: "RULE", value: (i) => i.rule },
                { header: "MESSAGE", value: (i) => i.message },
              ],
            }),
          );
        }
      } else {
        io.stdout(render(format, result));
      }
      if (!result.valid) {
        throw new Error(
          `${file} is not valid for Talos ${result.talosVersion}: ${result.issues.length} problem(s)`,
        );
      }
    });

  return config;
}
