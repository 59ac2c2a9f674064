// `taloskit get <type> [id]`: COSI resources of the target nodes, with
// talosctl's type aliases and its json/yaml shape.
import type { TalosResource } from "@taloskit/client";
import { Command } from "commander";
import {
  type CommandIO,
  connectTargets,
  globalFlags,
  processIO,
  withGlobalFlags,
} from "../globals.js";
import { render } from "../output.js";

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

/** The `get` command. */
export function getCommand(io: CommandIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("get")
      .description("get resources (talosctl type names and aliases accepted)")
      .argument("<type>", "resource type, e.g. pcidevices or PCIDevices.hardware.talos.dev")
      .argument("[id]", "resource ID")
      .option("--namespace <ns>", "resource namespace (default: the type's own)"),
  );
  return cmd.action(async (type: string, id: string | undefined) => {
    const flags = globalFlags(cmd);
    const namespace = (cmd.opts() as { namespace?: string }).namespace;
    const targets = await connectTargets(flags, io);
    try {
      const out: PrintedResource[] = [];
      const errors: string[] = [];
      const perNode = await targets.each(async (client, node, signal) => {
        const opts = { node, signal, ...(namespace ? { namespace } : {}) };
        return id
          ? [await client.resources.get(type, id, opts)]
          : await client.resources.list(type, opts);
      });
      for (const r of perNode) {
        if ("error" in r) errors.push(`${r.node}: ${r.error.message}`);
        else out.push(...r.value.map((res) => printable(res, r.node)));
      }
      io.stdout(
        render(flags.output, out, {
          rows: out,
          columns: [
            { header: "NODE", value: (r) => r.node },
            { header: "NAMESPACE", value: (r) => r.metadata.namespace },
            { header: "TYPE", value: (r) => r.metadata.type },
            { header: "ID", value: (r) => r.metadata.id },
            { header: "VERSION", value: (r) => r.metadata.version },
          ],
        }),
      );
      for (const e of errors) io.stderr(`taloskit: ${e}\n`);
      if (errors.length) process.exitCode = 1;
    } finally {
      targets.close();
    }
  });
}
