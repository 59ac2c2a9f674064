// Reading the gzipped tar archives Talos streams (Copy, Kubeconfig): regular
// files, directories and symlinks of ustar, with GNU long names and PAX paths,
// and writing them under a directory without letting a name escape it.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { gunzipSync } from "node:zlib";

/** One entry of an archive. */
export interface TarEntry {
  name: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  data: Uint8Array;
  linkname: string;
}

const text = (b: Uint8Array, at: number, len: number) => {
  const s = Buffer.from(b.subarray(at, at + len)).toString("utf8");
  const nul = s.indexOf("\0");
  return nul < 0 ? s : s.slice(0, nul);
};
const octal = (b: Uint8Array, at: number, len: number) =>
  Number.parseInt(text(b, at, len).trim() || "0", 8);

/** The entries of a tar archive (gzip-compressed when it starts with gzip's magic). */
export function readTar(input: Uint8Array): TarEntry[] {
  const buf = input[0] === 0x1f && input[1] === 0x8b ? gunzipSync(input) : input;
  const out: TarEntry[] = [];
  let longName: string | undefined;
  for (let at = 0; at + 512 <= buf.length; ) {
    const h = buf.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156] ?? 48);
    const data = buf.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = text(data, 0, data.length);
      continue;
    }
    if (type === "x") {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.from(data).toString("utf8"));
      if (path) longName = path[1];
      continue;
    }
    if (type === "g") continue;
    const prefix = text(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    longName = undefined;
    const kind =
      type === "5"
        ? "dir"
        : type === "2"
          ? "symlink"
          : type === "0" || type === "\0"
            ? "file"
            : undefined;
    if (!kind) continue;
    out.push({
      name,
      type: kind,
      mode: octal(h, 100, 8) & 0o7777,
      data,
      linkname: text(h, 157, 100),
    });
  }
  return out;
}

/** Where an entry goes under `dir`; throws for a name that would leave it. */
function inside(dir: string, name: string): string {
  const rel = normalize(name).replace(/^(\.\/)+/, "");
  if (isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`))
    throw new Error(`archive entry "${name}" points outside ${dir}`);
  return join(dir, rel);
}

/** Writes the entries under `dir`; returns how many files and bytes were written. */
export async function extractTar(
  entries: TarEntry[],
  dir: string,
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const e of entries) {
    const path = inside(dir, e.name);
    if (e.type === "dir") await mkdir(path, { recursive: true });
    else {
      await mkdir(dirname(path), { recursive: true });
      if (e.type === "symlink") await symlink(e.linkname, path);
      else {
        await writeFile(path, e.data, { mode: e.mode || 0o644 });
        files++;
        bytes += e.data.length;
      }
    }
  }
  return { files, bytes };
}
