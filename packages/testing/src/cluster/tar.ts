import { gzipSync } from "node:zlib";

function header(name: string, size: number, mode: number, type = "0"): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, "utf8");
  h.write(`${mode.toString(8).padStart(7, "0")}\0`, 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  h.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, "0")}\0`,
    136,
  );
  h.write("        ", 148);
  h.write(type, 156);
  h.write("ustar\0" + "00", 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}

/** A gzip-compressed tar archive of regular files and directories (`dir`, no data), in the given order. */
export function tarGz(files: { name: string; data: Uint8Array; dir?: boolean }[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    if (f.dir) {
      parts.push(header(f.name.endsWith("/") ? f.name : `${f.name}/`, 0, 0o755, "5"));
      continue;
    }
    parts.push(header(f.name, f.data.length, 0o644), Buffer.from(f.data));
    const pad = (512 - (f.data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}
