// Runs buf from node_modules on protos/, offline.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type FileDescriptor, readDescriptorSet } from "./descriptor.js";

export const repoRoot = resolve(import.meta.dirname, "../..");
const protosDir = join(repoRoot, "protos");
const binDir = join(repoRoot, "node_modules/.bin");

function buf(args: string[]): void {
  execFileSync(join(binDir, "buf"), args, {
    cwd: protosDir,
    stdio: ["ignore", "inherit", "inherit"],
    // buf finds the local protoc-gen-es plugin on PATH.
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}` },
  });
}

/** Calls `fn` with a fresh temporary directory and removes it afterwards. */
export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "taloskit-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compiles protos/ and returns its descriptor set, imports included. */
export function compileProtos(): FileDescriptor[] {
  return withTempDir((dir) => {
    const out = join(dir, "protos.binpb");
    buf(["build", "-o", out]);
    return readDescriptorSet(out);
  });
}

/** Runs protoc-gen-es over protos/ into `<outDir>/gen`. */
export function generateInto(outDir: string): void {
  buf(["generate", "--output", outDir]);
}
