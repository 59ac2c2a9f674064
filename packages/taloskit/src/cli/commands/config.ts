// `taloskit config patch|validate|apply`: merge patches into a config with Talos's
// rules, check a config against the schema of a Talos version, and patch live nodes.
import { existsSync } from "node:fs";
import { Command, Option } from "commander";
import {
  APPLY_MODES,
  type ApplyMode,
  type PatchMachineConfigResult,
  patchMachineConfig,
  patchMachineConfigOnNodes,
} from "../../config/apply.js";
import { parseConfig, printConfig } from "../../config/documents.js";
import { type ConfigPatch, loadPatch, patchConfig } from "../../config/patch.js";
import { redactConfigText, redactDiff } from "../../config/redact.js";
import { rewriteJson6902 } from "../../config/rewrite.js";
import { validateConfig } from "../../config/validate.js";
import { connectTargets, globalFlags, parseDuration, withGlobalFlags } from "../globals.js";
import { cannotRead, readBoundedText } from "../input.js";
import { outputOption, parseOutputFormat, render } from "../output.js";

/** Where the command reads and writes (the process by default; tests pass their own). */
export interface ConfigCommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => string;
  exists: (path: string) => boolean;
  stdin: () => string;
  /** Environment for finding the talosconfig (`config apply`); default: none. */
  env?: Record<string, string | undefined>;
}

const processIO: ConfigCommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readBoundedText(p),
  exists: (p) => existsSync(p),
  stdin: () => readBoundedText(0),
  env: process.env,
};

function readInput(io: ConfigCommandIO, path: string): string {
  if (path === "-") return io.stdin();
  try {
    return io.readFile(path);
  } catch (error) {
    throw cannotRead(path, error);
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
  const config = new Command("config").description(
    "Machine configs (patch, validate, apply) and the talosconfig (contexts, merge, endpoints, nodes)",
  );

  config
    .command("patch")
    .description("merge patches (strategic merge or JSON6902) into a config; merged YAML on stdout")
    .argument("<base>", "base config file, or - for stdin")
    .argument("<patch...>", "patches: @file, a file path, or inline YAML")
    .option("--talos-version <version>", "refuse document kinds this Talos version does not know")
    .option("--validate", "also validate the merged config (needs --talos-version)")
    .option("--diff", "print a unified diff of the change on stderr")
    .option(
      "--show-secrets",
      "show tokens, keys and passphrases in the diff and rewritten patches (redacted by default)",
    )
    .option(
      "--rewrite-json6902",
      "apply JSON6902 patches by rewriting them into strategic-merge patches against the config so far (works on multi-document configs)",
    )
    .option(
      "--print-rewritten",
      "with --rewrite-json6902: print each rewritten patch on stderr, after a '# rewritten <patch>' line",
    )
    .action(
      (
        base: string,
        patches: string[],
        opts: {
          talosVersion?: string;
          validate?: boolean;
          diff?: boolean;
          showSecrets?: boolean;
          rewriteJson6902?: boolean;
          printRewritten?: boolean;
        },
      ) => {
        if (opts.validate && !opts.talosVersion)
          throw new Error("--validate needs --talos-version");
        if (opts.printRewritten && !opts.rewriteJson6902)
          throw new Error("--print-rewritten needs --rewrite-json6902");
        const baseText = readInput(io, base);
        let loaded = patches.map((p) => patchArg(io, p));
        if (opts.rewriteJson6902) {
          // each JSON6902 patch is rewritten against the config as the patches before it left it
          let current = baseText;
          loaded = loaded.map((p) => {
            let next = p;
            if (p.type === "json6902") {
              const rewritten = rewriteJson6902(current, p);
              if (opts.printRewritten) {
                const text = opts.showSecrets ? rewritten.text : redactConfigText(rewritten.text);
                io.stderr(`# rewritten ${p.source}\n${text}`);
              }
              next = rewritten.patch;
            }
            current = patchConfig(current, [next], { diff: false }).text;
            return next;
          });
        }
        const result = patchConfig(baseText, loaded, {
          ...(opts.talosVersion ? { talosVersion: opts.talosVersion } : {}),
          diff: opts.diff === true,
        });
        if (opts.validate && opts.talosVersion) {
          const v = validateConfig(result.text, opts.talosVersion);
          if (!v.valid) {
            const first = v.issues[0];
            throw new Error(
              `merged config is not valid for Talos ${v.talosVersion}: ${v.issues.length} problem(s), first: document '${first?.document}' path '${first?.path}' (${first?.rule}): ${first?.message}`,
            );
          }
        }
        if (opts.diff && result.diff) {
          // The diff compares the base as printed and the merged text; secrets are
          // masked in both before it is made, unless asked for.
          const diff = opts.showSecrets
            ? result.diff
            : redactDiff(result.diff, {
                before: printConfig(parseConfig(baseText, "base config")),
                after: result.text,
              });
          io.stderr(diff.unified);
        }
        io.stdout(result.text);
      },
    );

  config
    .command("validate")
    .description("validate a config as that Talos version loads and validates it")
    .argument("<file>", "config file, or - for stdin")
    .requiredOption("--talos-version <version>", "Talos version, e.g. 1.14 or v1.14.2")
    .option("--patch", "the file is a patch: missing required fields are not errors")
    .addOption(outputOption())
    .action((file: string, opts: { talosVersion: string; patch?: boolean; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const result = validateConfig(readInput(io, file), opts.talosVersion, {
        partial: opts.patch === true,
      });
      // Like talosctl validate, warnings go to stderr; json and yaml carry them too.
      for (const w of result.warnings) {
        io.stderr(`warning: ${w.document} ${w.path}: ${w.message}\n`);
      }
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

  config.addCommand(applyCommand(io));
  return config;
}

interface ApplyRow {
  node: string;
  talosVersion?: string;
  changed?: boolean;
  applied?: boolean;
  dryRun?: boolean;
  requestedMode?: ApplyMode;
  mode?: ApplyMode | undefined;
  rebootRequired?: boolean;
  rebooting?: boolean;
  modeDetails?: string;
  warnings?: string[];
  diff?: Omit<PatchMachineConfigResult["diff"], never>;
  error?: string;
}

function summary(r: ApplyRow): string {
  const lines = (r.modeDetails ?? "").split("\n");
  return (r.dryRun && lines[0] === "Dry run summary:" ? lines[1] : lines[0]) ?? "";
}

/**
 * `config apply`, or under another name (talosctl's `patch machineconfig`):
 * patch the machine config of live nodes.
 */
export function applyCommand(io: ConfigCommandIO = processIO, name = "apply"): Command {
  const cmd = withGlobalFlags(
    new Command(name).description(
      "patch the machine config of live nodes: read it, merge patches, show the diff, apply",
    ),
  )
    .requiredOption("-p, --patch <patch...>", "patches: @file, a file path, or inline YAML")
    .addOption(
      new Option("-m, --mode <mode>", "how the node takes the config")
        .choices([...APPLY_MODES])
        .default("auto"),
    )
    .option("--try-timeout <duration>", "with --mode try: roll back after this long (e.g. 1m)")
    .option("--dry-run", "ask the nodes what they would do; change nothing")
    .option("--talos-version <version>", "validate for this Talos version instead of the node's")
    .option("--show-secrets", "show tokens and keys in the diff (redacted by default)");
  return cmd.action(
    async (opts: {
      patch: string[];
      mode: ApplyMode;
      tryTimeout?: string;
      dryRun?: boolean;
      talosVersion?: string;
      showSecrets?: boolean;
    }) => {
      const flags = globalFlags(cmd);
      if (flags.insecure) {
        throw new Error(
          "config apply patches the config of configured nodes; a node in maintenance mode (--insecure) takes a whole config, not patches",
        );
      }
      if (opts.tryTimeout !== undefined && opts.mode !== "try")
        throw new Error("--try-timeout needs --mode try");
      const tryTimeoutMs =
        opts.tryTimeout === undefined ? undefined : parseDuration(opts.tryTimeout);
      // Every patch is read and parsed before any node is contacted.
      const patches = opts.patch.map((p) => patchArg(io, p));
      const targets = await connectTargets(flags, {
        stdout: io.stdout,
        stderr: io.stderr,
        env: io.env ?? {},
      });
      try {
        // Without --insecure there is one client for every node.
        const client = targets.clientFor(undefined);
        const options = {
          patches,
          mode: opts.mode,
          dryRun: opts.dryRun === true,
          showSecrets: opts.showSecrets === true,
          timeoutMs: 30_000,
          ...(tryTimeoutMs === undefined ? {} : { tryTimeoutMs }),
          ...(opts.talosVersion ? { talosVersion: opts.talosVersion } : {}),
        };
        const nodes = targets.nodes.filter((n): n is string => n !== undefined);
        const results: (
          | { node: string; value: PatchMachineConfigResult }
          | { node: string; error: unknown }
        )[] =
          nodes.length === targets.nodes.length
            ? await patchMachineConfigOnNodes(client, nodes, options)
            : // no nodes configured: the endpoint itself
              [
                await patchMachineConfig(client, options).then(
                  (value) => ({ node: client.endpoints[0] ?? "", value }),
                  (error: unknown) => ({ node: client.endpoints[0] ?? "", error }),
                ),
              ];
        const rows = results.map((r): ApplyRow => {
          if ("error" in r) {
            const message = r.error instanceof Error ? r.error.message : String(r.error);
            return { node: r.node, error: message.replace(/\s*\n\s*/g, " ") };
          }
          const { config: _secret, node: _node, schemaVersion: _s, ...rest } = r.value;
          return { node: r.node, ...rest };
        });
        if (flags.output === "table") {
          for (const r of rows) {
            if (!r.diff?.unified) continue;
            if (rows.length > 1) io.stdout(`# ${r.node}\n`);
            io.stdout(r.diff.unified);
          }
          io.stdout(
            render(flags.output, rows, {
              rows,
              columns: [
                { header: "NODE", value: (r) => r.node },
                { header: "CHANGED", value: (r) => (r.error ? "" : r.changed ? "yes" : "no") },
                { header: "MODE", value: (r) => r.mode ?? "" },
                {
                  header: "REBOOT",
                  value: (r) =>
                    r.error ? "" : r.rebooting ? "rebooting" : r.rebootRequired ? "required" : "no",
                },
                { header: "DETAILS", value: (r) => r.error ?? summary(r) },
              ],
            }),
          );
          for (const r of rows)
            for (const w of r.warnings ?? []) io.stderr(`taloskit: ${r.node}: warning: ${w}\n`);
        } else {
          io.stdout(render(flags.output, rows));
        }
        const failed = rows.filter((r) => r.error);
        for (const r of failed) io.stderr(`taloskit: ${r.node}: ${r.error}\n`);
        if (failed.length) process.exitCode = 1;
      } finally {
        targets.close();
      }
    },
  );
}
