// Builds and drives the Go oracles: small programs made of Talos's and the Image
// Factory's own packages, one per Talos minor, that answer config and schematic
// questions over a JSON-lines pipe. Built with the go command and cached by the
// hash of their sources, so a second run starts at once.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const binDir = join(here, ".bin");

/** Talos minors with a machinery oracle, and the machinery release each is built from. */
export const ORACLE_VERSIONS = ["1.10", "1.11", "1.12", "1.13", "1.14"] as const;
export type OracleVersion = (typeof ORACLE_VERSIONS)[number];

/** The newest minor builds from machinery/go.mod; older ones from machinery/versions/vX.Y.mod. */
const NEWEST: OracleVersion = "1.14";

interface Program {
  name: string;
  dir: string;
  modfile?: string;
}

function programs(): Program[] {
  const machinery = join(here, "machinery");
  return [
    ...ORACLE_VERSIONS.map((v) => ({
      name: `machinery-v${v}`,
      dir: machinery,
      ...(v === NEWEST ? {} : { modfile: join(machinery, "versions", `v${v}.mod`) }),
    })),
    { name: "schematic", dir: join(here, "schematic") },
    { name: "talosctl", dir: join(here, "talosctl") },
    { name: "apid", dir: join(here, "apid") },
  ];
}

/** The built binary of a program run as a command (talosctl), built first when its sources changed. */
export function programBinary(name: string): string {
  const p = programs().find((q) => q.name === name);
  if (!p) throw new Error(`no program named ${name}`);
  if (!existsSync(binaryPath(p))) buildOracles();
  return binaryPath(p);
}

function sourceHash(p: Program): string {
  const h = createHash("sha256");
  for (const f of readdirSync(p.dir).sort()) {
    if (f.endsWith(".go") || (!p.modfile && (f === "go.mod" || f === "go.sum"))) {
      h.update(f).update(readFileSync(join(p.dir, f)));
    }
  }
  if (p.modfile) {
    h.update(readFileSync(p.modfile)).update(readFileSync(p.modfile.replace(/\.mod$/, ".sum")));
  }
  return h.digest("hex").slice(0, 16);
}

function binaryPath(p: Program): string {
  return join(binDir, `${p.name}-${sourceHash(p)}`);
}

/** Builds every oracle whose sources changed since its last build; returns nothing when all are current. */
export function buildOracles(log: (line: string) => void = () => {}): void {
  mkdirSync(binDir, { recursive: true });
  for (const p of programs()) {
    const out = binaryPath(p);
    if (existsSync(out)) continue;
    log(`building ${p.name} with ${goVersion()}`);
    const args = ["build", "-trimpath", "-o", out];
    if (p.modfile) args.push(`-modfile=${p.modfile}`);
    args.push(".");
    execFileSync("go", args, { cwd: p.dir, stdio: ["ignore", "inherit", "inherit"] });
    // Builds of older sources are never run again.
    for (const f of readdirSync(binDir)) {
      if (f.startsWith(`${p.name}-`) && join(binDir, f) !== out) rmSync(join(binDir, f));
    }
  }
}

function goVersion(): string {
  try {
    return execFileSync("go", ["version"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "the conformance oracles need Go (the go command on PATH) and its module proxy",
    );
  }
}

/** One answer of an oracle; `ok: false` carries the stage that failed and Talos's own error text. */
export interface OracleResponse {
  id: number;
  ok: boolean;
  error?: string;
  stage?: string;
  warnings?: string[];
  config?: string;
  version?: string;
  kinds?: unknown;
  /** The talosconfig generated with given secrets (`generate` with `secrets`). */
  talosconfig?: string;
  schematicId?: string;
  canonical?: string;
}

/** A running oracle process; requests are pipelined and matched to answers by id. */
export class Oracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, (r: OracleResponse) => void>();
  private nextId = 1;
  private exited: Error | undefined;

  private constructor(binary: string) {
    this.child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    this.child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const resp = JSON.parse(line) as OracleResponse;
      const done = this.pending.get(resp.id);
      this.pending.delete(resp.id);
      done?.(resp);
    });
    this.child.on("exit", (code) => {
      this.exited = new Error(`oracle ${binary} exited with ${code}: ${stderr.trim()}`);
      for (const done of this.pending.values()) {
        done({ id: 0, ok: false, stage: "exit", error: this.exited.message });
      }
      this.pending.clear();
    });
  }

  /** Starts the oracle of a program, building it first when its sources changed. */
  static start(name: string): Oracle {
    const p = programs().find((q) => q.name === name);
    if (!p) throw new Error(`no oracle named ${name}`);
    const bin = binaryPath(p);
    if (!existsSync(bin)) buildOracles();
    return new Oracle(bin);
  }

  request(req: Record<string, unknown>): Promise<OracleResponse> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

const running = new Map<string, Oracle>();

function shared(name: string): Oracle {
  let o = running.get(name);
  if (!o) {
    o = Oracle.start(name);
    running.set(name, o);
  }
  return o;
}

/** The config oracle of a Talos minor (Talos's machinery package of that release). */
export function machinery(version: OracleVersion) {
  const o = shared(`machinery-v${version}`);
  return {
    /** Loads a config as a node does and validates it (metal mode, as talosctl validate). */
    validate: (config: string, options: { strict?: boolean; mode?: string } = {}) =>
      o.request({ op: "validate", config, ...options }),
    /** Applies patches (strategic merge or JSON6902) as talosctl's patch loader reads them. */
    patch: (config: string, patches: string[]) => o.request({ op: "patch", config, patches }),
    /** A freshly generated config of a role, as talosctl gen config makes it. */
    generate: (
      role: "controlplane" | "worker" | "init",
      options: {
        clusterName?: string;
        endpoint?: string;
        kubernetesVersion?: string;
        /** A secrets bundle file (talosctl gen secrets) to generate with, as --with-secrets loads it. */
        secrets?: string;
      } = {},
    ) => o.request({ op: "generate", role, ...options }),
    /** Loads a config and encodes it again as configpatcher prints its output (no comments). */
    normalize: (config: string) => o.request({ op: "normalize", config }),
    /** Talos's own redaction of a config (RedactSecrets), encoded as normalize encodes. */
    redact: (config: string, replacement?: string) =>
      o.request({ op: "redact", config, ...(replacement ? { replacement } : {}) }),
    /** The machinery release the oracle runs. */
    version: () => o.request({ op: "version" }),
    /** How each registered document kind decodes (field names, types, deprecations). */
    kinds: () => o.request({ op: "kinds" }),
    /** Whether Talos's installer of `to` accepts a node running `from` (its compatibility check). */
    upgradeable: (from: string, to: string) => o.request({ op: "upgradeable", from, to }),
    /** Whether Kubernetes `kubernetesVersion` is supported on Talos `to`. */
    kubernetes: (kubernetesVersion: string, to: string) =>
      o.request({ op: "kubernetes", kubernetesVersion, to }),
  };
}

/** The schematic oracle (the Image Factory's schematic package). */
export function schematicOracle() {
  const o = shared("schematic");
  return { id: (yaml: string) => o.request({ op: "id", yaml }) };
}

/** Ends every oracle this process started. */
export function closeOracles(): void {
  for (const o of running.values()) o.close();
  running.clear();
}
