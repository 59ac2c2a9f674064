// `taloskit kubeconfig [PATH|-] [--merge] [--force]`: fetch the admin
// kubeconfig from a control-plane node and write it, merge it into an existing
// kubeconfig (the default), or print it.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { Command } from "commander";
import { parse, stringify } from "yaml";
import { type CommandIO, processIO, withGlobalFlags } from "../globals.js";
import { readTar } from "../tar.js";
import { boolOption, onEachNode, printRows, singleNode, userPath } from "./node-action.js";

type Named = { name: string } & Record<string, unknown>;
type Kubeconfig = Record<string, unknown> & {
  clusters?: Named[];
  users?: Named[];
  contexts?: (Named & { context?: { cluster?: string; user?: string } })[];
  "current-context"?: string;
};

function asKubeconfig(text: string, where: string): Kubeconfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new Error(`${where} is not valid YAML`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new Error(`${where} is not a kubeconfig`);
  return doc as Kubeconfig;
}

/**
 * Merges `incoming` into `existing`: its clusters, users and contexts are
 * added, and its context becomes the current one. An entry of the same name
 * and other content is replaced with `force`, else the new one is renamed
 * `<name>-1` (`-2`, ...) and the references to it follow.
 */
export function mergeKubeconfig(
  existing: Kubeconfig,
  incoming: Kubeconfig,
  force: boolean,
): { config: Kubeconfig; context: string | undefined; renamed: string[] } {
  const out: Kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    ...existing,
  };
  const renamed: string[] = [];
  const rename: Record<"clusters" | "users" | "contexts", Map<string, string>> = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const key of ["clusters", "users", "contexts"] as const) {
    const list: Named[] = [...((out[key] as Named[] | undefined) ?? [])];
    for (const item of (incoming[key] as Named[] | undefined) ?? []) {
      let entry: Named = { ...item };
      if (key === "contexts") {
        const ctx = { ...(entry.context as Record<string, unknown>) };
        const c = rename.clusters.get(String(ctx.cluster));
        const u = rename.users.get(String(ctx.user));
        if (c) ctx.cluster = c;
        if (u) ctx.user = u;
        entry = { ...entry, context: ctx };
      }
      const at = list.findIndex((e) => e.name === entry.name);
      if (at < 0) list.push(entry);
      else if (JSON.stringify(list[at]) === JSON.stringify(entry)) {
        // already there
      } else if (force) list[at] = entry;
      else {
        let n = 1;
        while (list.some((e) => e.name === `${entry.name}-${n}`)) n++;
        const name = `${entry.name}-${n}`;
        rename[key].set(entry.name, name);
        renamed.push(`${key.slice(0, -1)} "${entry.name}" as "${name}"`);
        list.push({ ...entry, name });
      }
    }
    out[key] = list;
  }
  const current = incoming["current-context"];
  const context = current ? (rename.contexts.get(current) ?? current) : undefined;
  if (context) out["current-context"] = context;
  return { config: out, context, renamed };
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** The `kubeconfig` command. */
export function kubeconfigCommand(io: CommandIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("kubeconfig")
      .description(
        "download the admin kubeconfig from a control-plane node and merge it into PATH (default ~/.kube/config), or print it with -",
      )
      .argument("[path]", "kubeconfig file or directory to write, or - for stdout"),
  )
    .addOption(boolOption("-m, --merge", "merge into an existing kubeconfig", true))
    .option(
      "-f, --force",
      "overwrite an existing file, or replace same-named entries when merging",
    );
  return cmd.action(async (arg: string | undefined, opts: { merge: boolean; force?: boolean }) => {
    const { flags, results } = await onEachNode(
      cmd,
      io,
      async (t) => {
        const archive = await t.client.streams
          .kubeconfig({ node: t.node, signal: t.signal, timeoutMs: 60_000 })
          .bytes();
        const file = readTar(archive).find((e) => e.type === "file");
        if (!file) throw new Error("the node sent an archive without a kubeconfig");
        return Buffer.from(file.data).toString("utf8");
      },
      singleNode("kubeconfig"),
    );
    for (const { node, value: text } of results) {
      if (arg === "-") {
        io.stdout(text);
        continue;
      }
      let path = userPath(
        io.env,
        arg ?? io.env.KUBECONFIG?.split(":")[0] ?? join(homedir(), ".kube", "config"),
      );
      if (await isDir(path)) path = join(path, "kubeconfig");
      const before = await readIfThere(path);
      let out = text;
      let merged = false;
      let context = asKubeconfig(text, "the node's kubeconfig")["current-context"];
      if (before !== undefined && opts.merge) {
        const m = mergeKubeconfig(
          asKubeconfig(before, path),
          asKubeconfig(text, "the node's kubeconfig"),
          opts.force === true,
        );
        out = stringify(m.config);
        merged = true;
        context = m.context;
        for (const r of m.renamed) io.stderr(`renamed ${r}: ${path} already has one\n`);
      } else if (before !== undefined && !opts.force) {
        throw new Error(`kubeconfig file already exists, use --force to overwrite: ${path}`);
      }
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, out, { mode: 0o600 });
      } catch (error) {
        throw new Error(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
      }
      if (flags.output !== "table") printRows(io, flags, [{ node, path, merged, context }], []);
    }
  });
}
