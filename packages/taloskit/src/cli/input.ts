// Reading the CLI's input files and stdin with a size limit: the parsers refuse
// more than this anyway, so there is no point reading a larger (or endless) input
// into memory first.
import { closeSync, openSync, readSync } from "node:fs";
import { resolve } from "node:path";
import { YAML_MAX_BYTES } from "@taloskit/core";

/**
 * Reads a file, or a file descriptor such as 0 for stdin, as UTF-8 text; more
 * than `maxBytes` is refused as soon as it is seen.
 */
export function readBoundedText(file: string | number, maxBytes = YAML_MAX_BYTES): string {
  const fd = typeof file === "number" ? file : openSync(file, "r");
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(1 << 16);
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EOF") break;
        throw err;
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) {
        const what = typeof file === "number" ? "the input" : file;
        throw new Error(`${what} is larger than the limit of ${maxBytes} bytes`);
      }
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    if (typeof file !== "number") closeSync(fd);
  }
}

/**
 * The error of an input file the CLI cannot read: it names the file by its
 * absolute path (wherever the user ran the command from) and why.
 */
export function cannotRead(path: string, cause: unknown): Error {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : undefined;
  return new Error(`cannot read ${resolve(path)}${why ? `: ${why}` : ""}`, { cause });
}
