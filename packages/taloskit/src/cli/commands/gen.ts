// `taloskit gen secrets|config`: a new cluster's secrets bundle, machine configs
// and talosconfig, with talosctl gen's names and flags. The library does the work
// (config/generate); this file reads flags and writes files.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import { FlagError } from "../errors.js";
import { userDirectory } from "../globals.js";
import { readBoundedText } from "../input.js";

/** Where the command reads and writes (the process by default; tests pass their own). */
export interface GenCommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => string;
  exists: (path: string) => boolean;
  writeFile: (path: string, text: string) => void;
  /** The user's working directory, against which relative paths resolve. */
  cwd: () => string;
}

const processIO: GenCommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readBoundedText(p),
  exists: (p) => existsSync(p),
  writeFile: (p, text) => {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text, { mode: 0o600 });
  },
  cwd: () => userDirectory(process.env, process.cwd()),
};

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The library, loaded when a gen command runs (other commands do not pay for it). */
const generator = () => import("../../config/generate/index.js");

interface GenConfigFlags {
  talosVersion?: string;
  kubernetesVersion?: string;
  withSecrets?: string;
  configPatch: string[];
  configPatchControlPlane: string[];
  configPatchWorker: string[];
  installDisk: string;
  outputDir?: string;
  force?: boolean;
}

/** Refuses to replace a file that exists, unless `force`. */
function refuseExisting(io: GenCommandIO, paths: readonly string[], force?: boolean): void {
  const present = force ? undefined : paths.find((p) => io.exists(p));
  if (present) throw new FlagError(`${present} already exists, use --force to overwrite`);
}

/** The `gen` command group. */
export function genCommand(overrides: Partial<GenCommandIO> = {}): Command {
  const io: GenCommandIO = { ...processIO, ...overrides };
  const at = (path: string) => resolve(io.cwd(), path);
  const read = (path: string, flag: string) => {
    const abs = at(path);
    try {
      return io.readFile(abs);
    } catch {
      throw new FlagError(`${flag}: cannot read ${abs}`);
    }
  };
  /** A --config-patch value: `@file` or inline YAML/JSON, as talosctl reads it. */
  const patch = (value: string, flag: string) =>
    value.startsWith("@") ? read(value.slice(1), flag) : value;

  const gen = new Command("gen").description("Generate a new cluster's secrets and configs");

  gen
    .command("secrets")
    .description("Generate a secrets bundle (cluster identity, tokens and CAs)")
    .option(
      "-o, --output-file <file>",
      'where to write the bundle, or "-" for stdout',
      "secrets.yaml",
    )
    .option("--talos-version <version>", "Talos version the bundle is for (e.g. v1.13)")
    .option("--force", "overwrite an existing file")
    .action(async (opts: { outputFile: string; talosVersion?: string; force?: boolean }) => {
      const { generateSecrets, printSecrets } = await generator();
      const text = printSecrets(
        generateSecrets(opts.talosVersion ? { talosVersion: opts.talosVersion } : {}),
      );
      if (opts.outputFile === "-") {
        io.stdout(text);
        return;
      }
      const path = at(opts.outputFile);
      refuseExisting(io, [path], opts.force);
      io.writeFile(path, text);
    });

  gen
    .command("config")
    .description("Generate controlplane.yaml, worker.yaml and talosconfig for a new cluster")
    .argument("<cluster-name>", "cluster name")
    .argument("<cluster-endpoint>", "Kubernetes API endpoint, e.g. https://10.5.0.2:6443")
    .option("--talos-version <version>", "Talos version to generate for (1.12, 1.13, 1.14)")
    .option("--kubernetes-version <version>", "Kubernetes version (default: that Talos version's)")
    .option("--with-secrets <file>", "use a secrets bundle from 'gen secrets'")
    .option("--config-patch <patch>", "patch both roles' configs (@file or inline)", collect, [])
    .option(
      "--config-patch-control-plane <patch>",
      "patch the control plane config (@file or inline)",
      collect,
      [],
    )
    .option(
      "--config-patch-worker <patch>",
      "patch the worker config (@file or inline)",
      collect,
      [],
    )
    .option("--install-disk <disk>", "the disk to install to", "/dev/sda")
    .option("--output-dir <dir>", "where to write the files (default: the current directory)")
    .option("--force", "overwrite existing files")
    .action(async (clusterName: string, endpoint: string, opts: GenConfigFlags) => {
      const { generateConfig, generateVersion, parseSecrets } = await generator();
      const talosVersion = generateVersion(opts.talosVersion);
      const secretsPath = opts.withSecrets === undefined ? undefined : at(opts.withSecrets);
      const secrets =
        secretsPath === undefined
          ? undefined
          : parseSecrets(read(secretsPath, "--with-secrets"), secretsPath);
      const out = at(opts.outputDir ?? ".");
      const files = [
        resolve(out, "controlplane.yaml"),
        resolve(out, "worker.yaml"),
        resolve(out, "talosconfig"),
      ] as const;
      refuseExisting(io, files, opts.force);
      const result = generateConfig({
        clusterName,
        endpoint,
        talosVersion,
        ...(opts.kubernetesVersion ? { kubernetesVersion: opts.kubernetesVersion } : {}),
        ...(secrets ? { secrets } : {}),
        installDisk: opts.installDisk,
        patches: opts.configPatch.map((p) => patch(p, "--config-patch")),
        controlPlanePatches: opts.configPatchControlPlane.map((p) =>
          patch(p, "--config-patch-control-plane"),
        ),
        workerPatches: opts.configPatchWorker.map((p) => patch(p, "--config-patch-worker")),
      });
      const texts = [result.controlplane, result.worker, result.talosconfig];
      files.forEach((f, i) => {
        io.writeFile(f, texts[i] ?? "");
        io.stderr(`created ${f}\n`);
      });
    });

  return gen;
}
