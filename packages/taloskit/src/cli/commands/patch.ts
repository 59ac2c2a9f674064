// `taloskit patch machineconfig --patch @FILE|inline [--mode] [--dry-run]`:
// talosctl's spelling of `config apply` (read the node's config, merge the
// patches, show the diff with secrets redacted, apply).
import { Command } from "commander";
import { applyCommand, type ConfigCommandIO } from "./config.js";

/** The `patch` command group. */
export function patchCommand(io?: ConfigCommandIO): Command {
  return new Command("patch")
    .description("patch a resource of the nodes (machineconfig, alias mc)")
    .addCommand(applyCommand(io, "machineconfig").alias("mc"));
}
