// `taloskit apply-config -f FILE [--mode M] [--dry-run]`: send a whole machine
// config to the nodes (configured ones, or nodes in maintenance mode with
// --insecure), as talosctl's apply-config does. The file is read and parsed
// before any node is contacted; secrets in a dry run's diff are redacted.
import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { APPLY_MODES, type ApplyMode, applyMachineConfig } from "../../config/apply.js";
import { parseConfig } from "../../config/documents.js";
import { loadPatches, patchConfig } from "../../config/patch.js";
import { type CommandIO, parseDuration, processIO, withGlobalFlags } from "../globals.js";
import { onEachNode, printRows, userPath } from "./node-action.js";

/** The `apply-config` command. */
export function applyConfigCommand(io: CommandIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("apply-config").description("apply a new machine config to the nodes"),
  )
    .requiredOption("-f, --file <path>", "the machine config to apply")
    .addOption(
      new Option("-m, --mode <mode>", "how the node takes the config")
        .choices([...APPLY_MODES])
        .default("auto"),
    )
    .option(
      "-p, --config-patch <patch>",
      "patch the file before sending it: @file or inline YAML/JSON (repeatable)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option("--dry-run", "ask the nodes what they would do; change nothing")
    .option("--timeout <duration>", "with --mode try: roll back after this long (e.g. 1m)")
    .option("--show-secrets", "show tokens and keys in a dry run's diff (redacted by default)");
  return cmd.action(
    async (opts: {
      file: string;
      configPatch?: string[];
      mode: ApplyMode;
      dryRun?: boolean;
      timeout?: string;
      showSecrets?: boolean;
    }) => {
      if (opts.timeout !== undefined && opts.mode !== "try")
        throw new Error("--timeout needs --mode try");
      const tryTimeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout);
      const path = userPath(io.env, opts.file);
      let config: string;
      try {
        config = await readFile(path, "utf8");
      } catch (error) {
        throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
      }
      try {
        parseConfig(config, path);
      } catch (error) {
        throw new Error(`${path} is not a machine config: ${(error as Error).message}`);
      }
      if (opts.configPatch?.length) {
        // @file patches are read from the user's directory, and named by absolute path.
        const specs = opts.configPatch.map((p) =>
          p.startsWith("@") ? `@${userPath(io.env, p.slice(1))}` : p,
        );
        config = patchConfig(config, loadPatches(specs), { diff: false }).text;
      }
      const { flags, results } = await onEachNode(cmd, io, (t) =>
        applyMachineConfig(t.client, {
          node: t.node,
          config,
          mode: opts.mode,
          dryRun: opts.dryRun === true,
          showSecrets: opts.showSecrets === true,
          signal: t.signal,
          ...(tryTimeoutMs === undefined ? {} : { tryTimeoutMs }),
        }),
      );
      const rows = results.map(({ node, value }) => ({ ...value, node }));
      for (const r of rows)
        for (const w of r.warnings) io.stderr(`taloskit: ${r.node}: warning: ${w}\n`);
      if (flags.output !== "table") {
        printRows(io, flags, rows, []);
        return;
      }
      for (const r of rows) {
        if (rows.length > 1) io.stdout(`# ${r.node}\n`);
        io.stdout(`${r.modeDetails.replace(/\n*$/, "")}\n`);
      }
    },
  );
}
