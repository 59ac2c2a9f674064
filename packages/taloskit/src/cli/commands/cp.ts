// `taloskit cp <node-path> <local-dir>|-`: copy a file or directory out of a
// node (the machine API's Copy, a gzipped tar stream): extracted under the
// local directory, or the archive itself on stdout with -. On a terminal the
// bytes received so far are shown on stderr.
import { mkdir } from "node:fs/promises";
import { Command } from "commander";
import { type CommandIO, processIO, withGlobalFlags } from "../globals.js";
import { extractTar, readTar } from "../tar.js";
import { onEachNode, printRows, singleNode, userPath } from "./node-action.js";
import { humanBytes } from "./node-shell.js";

/** CommandIO plus whether stderr is a terminal, and raw bytes on stdout. */
export interface CpCommandIO extends CommandIO {
  isTTY?: boolean;
  stdoutBytes?: (bytes: Uint8Array) => void;
}

/** The `cp` command. */
export function cpCommand(io: CpCommandIO = processIO): Command {
  const cmd = withGlobalFlags(
    new Command("cp")
      .description(
        "copy a file or directory from a node into a local directory (- for a tar.gz on stdout)",
      )
      .argument("<src-path>", "path on the node")
      .argument("<local-path>", "local directory to extract into, or -"),
  );
  return cmd.action(async (src: string, dest: string) => {
    const dir = dest === "-" ? undefined : userPath(io.env, dest);
    const { flags, results } = await onEachNode(
      cmd,
      io,
      async (t) => {
        const chunks: Uint8Array[] = [];
        let bytes = 0;
        for await (const chunk of t.client.streams.copy(src, { node: t.node, signal: t.signal })) {
          chunks.push(chunk);
          bytes += chunk.length;
          if (io.isTTY) io.stderr(`\r\x1b[K${src}: ${humanBytes(bytes)} received`);
        }
        if (io.isTTY) io.stderr("\r\x1b[K");
        const archive = Buffer.concat(chunks);
        if (!dir) return { archive, files: 0, bytes: archive.length };
        try {
          await mkdir(dir, { recursive: true });
          return { archive, ...(await extractTar(readTar(archive), dir)) };
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          throw new Error(code ? `cannot write into ${dir}: ${code}` : (error as Error).message);
        }
      },
      singleNode("cp"),
    );
    for (const { node, value } of results) {
      if (!dir) {
        (io.stdoutBytes ?? ((b) => process.stdout.write(b)))(value.archive);
        continue;
      }
      if (flags.output !== "table")
        printRows(
          io,
          flags,
          [{ node, source: src, path: dir, files: value.files, bytes: value.bytes }],
          [],
        );
    }
  });
}
