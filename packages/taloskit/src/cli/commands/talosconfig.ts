// `taloskit config contexts|context|merge|info|endpoint|node`: read and edit
// the talosconfig as talosctl does (the file found by --talosconfig,
// $TALOSCONFIG or ~/.talos/config; --context picks another than the current).
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  loadTalosconfig,
  parseTalosconfig,
  resolveContext,
  type Talosconfig,
  TalosconfigError,
  talosconfigPaths,
  writeTalosconfig,
} from "@taloskit/client";
import { Command } from "commander";
import { type CommandIO, globalFlags, processIO, withGlobalFlags } from "../globals.js";
import { render } from "../output.js";
import { printRows, userPath } from "./node-action.js";

/** The talosconfig named by the flags, and its path; `orEmpty` starts an empty one where none exists. */
async function load(
  cmd: Command,
  io: CommandIO,
  orEmpty = false,
): Promise<{ config: Talosconfig; path: string }> {
  const flags = globalFlags(cmd);
  const path = flags.talosconfig ? userPath(io.env, flags.talosconfig) : undefined;
  try {
    return await loadTalosconfig({ path, env: io.env });
  } catch (error) {
    if (!orEmpty || !(error instanceof TalosconfigError) || error.code !== "TALOSCONFIG_NOT_FOUND")
      throw error;
    return { config: { contexts: {} }, path: path ?? (talosconfigPaths(io.env)[0] as string) };
  }
}

/** The name of the context to edit: --context, else the current one. */
function contextName(cmd: Command, config: Talosconfig, path: string): string {
  const name = globalFlags(cmd).context ?? config.context ?? undefined;
  if (!name) throw new Error(`talosconfig ${path} has no current context: pass --context`);
  if (!config.contexts?.[name]) throw new Error(`context "${name}" is not defined in ${path}`);
  return name;
}

function contextsCommand(io: CommandIO): Command {
  const cmd = withGlobalFlags(new Command("contexts").description("list the defined contexts"));
  return cmd.action(async () => {
    const flags = globalFlags(cmd);
    const { config } = await load(cmd, io);
    const rows = Object.entries(config.contexts ?? {}).map(([name, c]) => ({
      current: name === config.context,
      name,
      endpoints: c?.endpoints ?? [],
      nodes: c?.nodes ?? [],
    }));
    printRows(io, flags, rows, [
      { header: "CURRENT", value: (r) => (r.current ? "*" : "") },
      { header: "NAME", value: (r) => r.name },
      { header: "ENDPOINTS", value: (r) => r.endpoints },
      { header: "NODES", value: (r) => r.nodes },
    ]);
  });
}

function contextCommand(io: CommandIO): Command {
  const cmd = withGlobalFlags(
    new Command("context")
      .description("set the current context")
      .argument("<name>", "context name"),
  );
  return cmd.action(async (name: string) => {
    const { config, path } = await load(cmd, io);
    if (!config.contexts?.[name]) throw new Error(`context "${name}" is not defined in ${path}`);
    await writeTalosconfig(path, { ...config, context: name });
    const flags = globalFlags(cmd);
    if (flags.output !== "table") io.stdout(render(flags.output, { context: name, path }));
  });
}

function listCommand(io: CommandIO, key: "endpoints" | "nodes", name: string, alias: string) {
  const cmd = withGlobalFlags(
    new Command(name)
      .alias(alias)
      .description(`set the ${key} of the current context (none to clear them)`)
      .argument(`[${key}...]`, key),
  );
  return cmd.action(async (values: string[]) => {
    const { config, path } = await load(cmd, io);
    const ctxName = contextName(cmd, config, path);
    const list = values
      .flatMap((v) => v.split(","))
      .map((v) => v.trim())
      .filter(Boolean);
    const contexts = {
      ...config.contexts,
      [ctxName]: { ...config.contexts?.[ctxName], [key]: list },
    };
    await writeTalosconfig(path, { ...config, contexts });
    const flags = globalFlags(cmd);
    if (flags.output !== "table")
      io.stdout(render(flags.output, { context: ctxName, [key]: list, path }));
  });
}

function mergeCommand(io: CommandIO): Command {
  const cmd = withGlobalFlags(
    new Command("merge")
      .description(
        "merge the contexts of another talosconfig into this one (clashing names get a suffix)",
      )
      .argument("<file>", "talosconfig to merge from"),
  );
  return cmd.action(async (file: string) => {
    const from = userPath(io.env, file);
    let text: string;
    try {
      text = await readFile(from, "utf8");
    } catch (error) {
      throw new Error(`cannot read ${from}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    const incoming = parseTalosconfig(text, from);
    const { config, path } = await load(cmd, io, true);
    const contexts = { ...config.contexts };
    const renamed: Record<string, string> = {};
    const merged: string[] = [];
    for (const [name, ctx] of Object.entries(incoming.contexts ?? {})) {
      let target = name;
      if (contexts[name] && JSON.stringify(contexts[name]) !== JSON.stringify(ctx)) {
        let n = 1;
        while (contexts[`${name}-${n}`]) n++;
        target = `${name}-${n}`;
        renamed[name] = target;
        io.stderr(`renamed talosconfig context "${name}" -> "${target}"\n`);
      }
      contexts[target] = ctx;
      merged.push(target);
    }
    const current = incoming.context
      ? (renamed[incoming.context] ?? incoming.context)
      : config.context;
    await writeTalosconfig(path, { ...config, contexts, ...(current ? { context: current } : {}) });
    const flags = globalFlags(cmd);
    if (flags.output !== "table")
      io.stdout(render(flags.output, { path, merged, renamed, context: current ?? "" }));
  });
}

/** What the client certificate of a context says: its roles and when it expires. */
function certificateFacts(pem: string | undefined): { roles: string[]; expires?: Date } {
  if (!pem) return { roles: [] };
  try {
    const cert = new X509Certificate(pem);
    const roles = cert.subject
      .split("\n")
      .filter((l) => l.startsWith("O="))
      .flatMap((l) => l.slice(2).split("+"));
    return { roles, expires: new Date(cert.validTo) };
  } catch {
    return { roles: [] };
  }
}

function until(date: Date, now = Date.now()): string {
  const days = Math.round((date.getTime() - now) / 86_400_000);
  if (days < 0) return `expired ${-days} day(s) ago`;
  if (days >= 365) return `${Math.floor(days / 365)} year(s) from now`;
  return `${days} day(s) from now`;
}

function infoCommand(io: CommandIO): Command {
  const cmd = withGlobalFlags(new Command("info").description("show the current context"));
  return cmd.action(async () => {
    const flags = globalFlags(cmd);
    const { config, path } = await load(cmd, io);
    const ctx = resolveContext(config, { context: contextName(cmd, config, path), path });
    const cert = certificateFacts(ctx.cert);
    const info = {
      context: ctx.name,
      nodes: ctx.nodes,
      endpoints: ctx.endpoints,
      roles: cert.roles,
      certTTL: cert.expires ? cert.expires.toISOString() : "",
    };
    if (flags.output !== "table") {
      io.stdout(render(flags.output, info));
      return;
    }
    const line = (k: string, v: string) => `${`${k}:`.padEnd(21)}${v}\n`;
    io.stdout(
      line("Current context", info.context) +
        line("Nodes", info.nodes.join(", ") || "not defined") +
        line("Endpoints", info.endpoints.join(", ") || "not defined") +
        line("Roles", info.roles.join(", ") || "not defined") +
        line(
          "Certificate expires",
          cert.expires ? `${until(cert.expires)} (${cert.expires.toISOString().slice(0, 10)})` : "",
        ),
    );
  });
}

/** Adds talosctl's talosconfig subcommands to the `config` group. */
export function withTalosconfigCommands(config: Command, io: CommandIO = processIO): Command {
  return config
    .addCommand(contextsCommand(io))
    .addCommand(contextCommand(io))
    .addCommand(mergeCommand(io))
    .addCommand(infoCommand(io))
    .addCommand(listCommand(io, "endpoints", "endpoint", "endpoints"))
    .addCommand(listCommand(io, "nodes", "node", "nodes"));
}
