// `taloskit version`: the Talos version of every target node.
import { toJson } from "@bufbuild/protobuf";
import { VersionSchema } from "@taloskit/api/machine";
import { apiRegistry } from "@taloskit/api/registry";
import { Command } from "commander";
import {
  type CommandIO,
  connectTargets,
  globalFlags,
  processIO,
  withGlobalFlags,
} from "../globals.js";
import { render } from "../output.js";

interface VersionRow {
  node: string;
  version?: Record<string, unknown>;
  platform?: Record<string, unknown>;
  features?: Record<string, unknown>;
  error?: string;
}

/** The `version` command. */
export function versionCommand(io: CommandIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("version").description("print the Talos version of nodes"),
  );
  return cmd.action(async () => {
    const flags = globalFlags(cmd);
    const targets = await connectTargets(flags, io);
    try {
      const results = await targets.each((client, node, signal) =>
        client.services(node).machine.version({}, { timeoutMs: 30_000, signal }),
      );
      const rows = results.map((r): VersionRow => {
        if ("error" in r) return { node: r.node, error: r.error.message };
        const msg = r.value.messages[0];
        const json = msg
          ? (toJson(VersionSchema, msg, { registry: apiRegistry }) as Record<string, unknown>)
          : {};
        return {
          node: r.node,
          version: json.version as Record<string, unknown> | undefined,
          platform: json.platform as Record<string, unknown> | undefined,
          features: json.features as Record<string, unknown> | undefined,
        };
      });
      io.stdout(
        render(flags.output, rows, {
          rows,
          columns: [
            { header: "NODE", value: (r) => r.node },
            { header: "TAG", value: (r) => r.version?.tag ?? "" },
            { header: "SHA", value: (r) => r.version?.sha ?? "" },
            {
              header: "OS/ARCH",
              value: (r) => (r.version ? `${r.version.os ?? ""}/${r.version.arch ?? ""}` : ""),
            },
            { header: "ERROR", value: (r) => r.error ?? "" },
          ],
        }),
      );
      const failed = rows.filter((r) => r.error);
      for (const r of failed) io.stderr(`taloskit: ${r.node}: ${r.error}\n`);
      if (failed.length) process.exitCode = 1;
    } finally {
      targets.close();
    }
  });
}
