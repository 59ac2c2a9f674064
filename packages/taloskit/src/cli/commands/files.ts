// `taloskit read <path>` and `taloskit list|ls [path]`: a node's files, read
// whole or listed as talosctl lists them.
import type { FileInfo } from "@taloskit/api/machine";
import type { Command } from "commander";
import { processIO } from "../globals.js";
import {
  humanBytes,
  nodeCommand,
  nodeLabel,
  type Plain,
  plain,
  printNodeRows,
  reportNodes,
  type StreamIO,
  streamPrinter,
  withTargets,
} from "./node-shell.js";

/** `taloskit read <path>`: the file on stdout as it comes (json/yaml: `{node, path, content}`). */
export function readCommand(io: StreamIO = processIO): Command {
  const cmd = nodeCommand("read", "read a file on the machine").argument("<path>", "file path");
  return cmd.action((path: string) =>
    withTargets(cmd, io, async ({ flags, targets, signal: interrupt }) => {
      const print = streamPrinter(flags.output, io, []);
      // One node after another, so that files never interleave.
      const results = await targets.each(
        async (client, node, signal) => {
          const stream = client.streams.read(path, {
            node,
            signal,
          });
          if (flags.output !== "table") {
            print({ node: nodeLabel(client, node), path, content: await stream.text() });
            return;
          }
          const decoder = new TextDecoder();
          for await (const chunk of stream) io.stdout(decoder.decode(chunk, { stream: true }));
          const rest = decoder.decode();
          if (rest) io.stdout(rest);
        },
        { concurrency: 1 },
      );
      reportNodes(results, io, interrupt);
    }),
  );
}

/** Go's os.ModeDir and os.ModeSymlink, as FileInfo.mode carries them. */
const MODE_DIR = 0x80000000;
const MODE_SYMLINK = 0x08000000;

/** A mode as Go's FileMode.String() writes it: `drwxr-xr-x`, `-rw-r--r--`, `Lrwxrwxrwx`. */
export function fileModeText(mode: number): string {
  const type = mode & MODE_DIR ? "d" : mode & MODE_SYMLINK ? "L" : "-";
  let perm = "";
  for (let bit = 8; bit >= 0; bit--) perm += mode & (1 << bit) ? "rwx"[(8 - bit) % 3] : "-";
  return type + perm;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** talosctl's LASTMOD: `Jan _2 15:04:05` within six months, `Jan _2 2006 15:04` before. */
export function lastModText(seconds: bigint, now = Date.now()): string {
  const d = new Date(Number(seconds) * 1000);
  const day = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")}`;
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  return now - d.getTime() < 180 * 86_400_000
    ? `${day} ${hm}:${two(d.getSeconds())}`
    : `${day} ${d.getFullYear()} ${hm}`;
}

type ListRow = Plain<FileInfo> & { node: string };

/** `taloskit list [path] [-l] [-r] [-d depth]` (alias `ls`). */
export function listCommand(io: StreamIO = processIO): Command {
  const cmd = nodeCommand("list", "retrieve a directory listing")
    .alias("ls")
    .argument("[path]", "directory to list", "/")
    .option("-l, --long", "display additional file details")
    .option("-r, --recurse", "recurse into subdirectories")
    .option("-d, --depth <n>", "maximum recursion depth", (v) => {
      if (!/^\d+$/.test(v)) throw new Error(`--depth takes a whole number, not "${v}"`);
      return Number(v);
    })
    .option("-H, --humanize", "humanize size in the output");
  return cmd.action(
    (
      path: string,
      opts: { long?: boolean; recurse?: boolean; depth?: number; humanize?: boolean },
    ) => {
      const name = (r: ListRow) => (r.link ? `${r.relativeName} -> ${r.link}` : r.relativeName);
      const columns = opts.long
        ? [
            { header: "NODE", value: (r: ListRow) => r.node },
            { header: "MODE", value: (r: ListRow) => fileModeText(r.mode) },
            { header: "UID", value: (r: ListRow) => r.uid },
            { header: "GID", value: (r: ListRow) => r.gid },
            {
              header: "SIZE(B)",
              value: (r: ListRow) => (opts.humanize ? humanBytes(r.size) : r.size),
            },
            { header: "LASTMOD", value: (r: ListRow) => lastModText(r.modified) },
            { header: "NAME", value: name },
          ]
        : [
            { header: "NODE", value: (r: ListRow) => r.node },
            { header: "NAME", value: name },
          ];
      return printNodeRows<ListRow>(
        cmd,
        io,
        async (services, node, signal) => {
          const rows: ListRow[] = [];
          for await (const f of services.machine.list(
            {
              root: path,
              // A depth implies recursing, as talosctl's -d does.
              recurse: Boolean(opts.recurse) || (opts.depth ?? 0) > 0,
              recursionDepth: opts.depth ?? 0,
            },
            { signal, timeoutMs: 120_000 },
          )) {
            if (f.error) throw new Error(`error reading file ${f.name}: ${f.error}`);
            rows.push({ node, ...plain(f) });
          }
          return rows;
        },
        columns,
      );
    },
  );
}
