// `taloskit get <type> [id]`: COSI resources of the target nodes, with
// talosctl's type aliases and its json/yaml shape.
import type { ResourceDefinition, ResourceWatchEvent, TalosResource } from "@taloskit/client";
import { Command } from "commander";
import { processIO, withGlobalFlags } from "../globals.js";
import { type Column, render } from "../output.js";
import { nodeLabel, reportNodes, type StreamIO, streamPrinter, withTargets } from "./node-shell.js";

/** A resource as printed: talosctl's node, metadata and spec. */
export interface PrintedResource {
  node: string;
  metadata: {
    namespace: string;
    type: string;
    id: string;
    version: number | string;
    owner: string;
    phase: string;
    /** RFC 3339 to the second, unquoted in yaml, as talosctl prints them. */
    created?: Date;
    updated?: Date;
    /** Sorted by key; left out when empty, as talosctl does. */
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: unknown;
}

/** The printed form of a resource. */
export function printable(res: TalosResource, node: string): PrintedResource {
  const md = res.metadata;
  const version = /^\d+$/.test(md.version) ? Number(md.version) : md.version;
  return {
    node,
    metadata: {
      namespace: md.namespace,
      type: md.type,
      id: md.id,
      version,
      owner: md.owner,
      phase: md.phase,
      ...(md.created ? { created: toSecond(md.created) } : {}),
      ...(md.updated ? { updated: toSecond(md.updated) } : {}),
      ...sortedUnlessEmpty("labels", md.labels),
      ...sortedUnlessEmpty("annotations", md.annotations),
    },
    spec: res.spec ?? null,
  };
}

const toSecond = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

function sortedUnlessEmpty<K extends string>(
  key: K,
  kv: Record<string, string>,
): Partial<Record<K, Record<string, string>>> {
  const keys = Object.keys(kv).sort();
  if (!keys.length) return {};
  return { [key]: Object.fromEntries(keys.map((k) => [k, kv[k] as string])) } as Partial<
    Record<K, Record<string, string>>
  >;
}

/** A JSONPath of a print column (`{.status.ready}`) read from a spec, as talosctl prints it. */
export function columnValue(spec: unknown, jsonPath: string): string {
  const path = jsonPath.trim().replace(/^\{/, "").replace(/\}$/, "").trim();
  let v: unknown = spec;
  for (const part of path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "")) {
    if (v === null || typeof v !== "object") return "";
    v = (v as Record<string, unknown>)[part];
  }
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** talosctl's table columns of a type: node, metadata, then the definition's print columns. */
function resourceColumns(def: ResourceDefinition | undefined): Column<PrintedResource>[] {
  return [
    { header: "NODE", value: (r) => r.node },
    { header: "NAMESPACE", value: (r) => r.metadata.namespace },
    { header: "TYPE", value: (r) => r.metadata.type },
    { header: "ID", value: (r) => r.metadata.id },
    { header: "VERSION", value: (r) => r.metadata.version },
    ...(def?.printColumns ?? []).map(
      (c): Column<PrintedResource> => ({
        header: c.name.toUpperCase(),
        value: (r) => columnValue(r.spec, c.jsonPath),
      }),
    ),
  ];
}

/** talosctl's mark of a watch event in the table's first column. */
const EVENT_MARK: Partial<Record<ResourceWatchEvent["type"], string>> = {
  created: "+",
  updated: " ",
  destroyed: "-",
};

/** The `get` command. */
export function getCommand(io: StreamIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("get")
      .description("get resources (talosctl type names and aliases accepted)")
      .argument("<type>", "resource type, e.g. pcidevices or PCIDevices.hardware.talos.dev")
      .argument("[id]", "resource ID")
      .option("--namespace <ns>", "resource namespace (default: the type's own)")
      .option("-w, --watch", "watch resource changes (until Ctrl-C)"),
  );
  return cmd.action(async (type: string, id: string | undefined) => {
    const { namespace, watch } = cmd.opts() as { namespace?: string; watch?: boolean };
    if (watch) return watchResources(cmd, io, type, id, namespace);
    await withTargets(cmd, io, async ({ flags, targets, signal: interrupt }) => {
      const perNode = await targets.each(async (client, node, signal) => {
        const opts = { node, signal, ...(namespace ? { namespace } : {}) };
        const def = await client.resources.resolveType(type, opts);
        const found = id
          ? [await client.resources.get(type, id, opts)]
          : await client.resources.list(type, opts);
        return { def, found };
      });
      const ok = reportNodes(perNode, io, interrupt);
      const out = ok.flatMap((r) => r.value.found.map((res) => printable(res, r.node)));
      if (out.length || flags.output === "table")
        io.stdout(
          render(flags.output, out, { rows: out, columns: resourceColumns(ok[0]?.value.def) }),
        );
    });
  });
}

/**
 * `get -w`: every node's changes as they come (the current resources first),
 * marked `+` created, ` ` updated, `-` destroyed, until Ctrl-C.
 */
async function watchResources(
  cmd: Command,
  io: StreamIO,
  type: string,
  id: string | undefined,
  namespace: string | undefined,
): Promise<void> {
  await withTargets(cmd, io, async ({ flags, targets, signal: interrupt }) => {
    const first = targets.nodes[0];
    const def = await targets
      .clientFor(first)
      .resources.resolveType(type, { node: first, signal: interrupt });
    type Row = PrintedResource & { event: string };
    const print = streamPrinter<Row>(flags.output, io, [
      { header: "*", value: (r) => EVENT_MARK[r.event as ResourceWatchEvent["type"]] ?? "" },
      ...resourceColumns(def),
    ]);
    const results = await targets.each(
      async (client, node, signal) => {
        const label = nodeLabel(client, node);
        for await (const ev of client.resources.watch(type, {
          node,
          id,
          signal,
          ...(namespace ? { namespace } : {}),
        })) {
          if (ev.type === "errored") throw new Error(ev.error ?? "watch failed");
          if (!ev.resource || !EVENT_MARK[ev.type]) continue;
          print({ ...printable(ev.resource, label), event: ev.type });
        }
      },
      // Every node's watch stays open side by side.
      { concurrency: Math.max(1, targets.nodes.length) },
    );
    reportNodes(results, io, interrupt);
  });
}
