// `taloskit schematic id|create|get|urls|download`: schematic IDs offline,
// and the Image Factory for the rest.
import {
  type Arch,
  type AssetKind,
  assetPaths,
  canonicalSchematicYaml,
  FactoryClient,
  imageUrl,
  offlineCatalog,
  parseSchematic,
  schematicId,
  validateSchematic,
} from "@taloskit/factory";
import { downloadToFile } from "@taloskit/factory/node";
import { Command, Option } from "commander";
import { cannotRead, readBoundedText } from "../input.js";
import { outputOption, parseOutputFormat, render } from "../output.js";
import { progressBar, progressLine } from "../progress.js";

/** Where the command reads and writes (the process by default; tests pass their own). */
export interface SchematicCommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => string;
  stdin: () => string;
  /** Whether stderr is a terminal (progress bar redraws in place). */
  isTTY: boolean;
}

const processIO: SchematicCommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readBoundedText(p),
  stdin: () => readBoundedText(0),
  isTTY: process.stderr.isTTY === true,
};

const factoryOption = () =>
  new Option("--factory <url>", "Image Factory URL").default("https://factory.talos.dev");

function readInput(io: SchematicCommandIO, path: string | undefined): string {
  if (path === undefined || path === "-") return io.stdin();
  try {
    return io.readFile(path);
  } catch (error) {
    throw cannotRead(path, error);
  }
}

/** The text of a download's progress bar (kept here for callers of this module). */
export { progressLine } from "../progress.js";

const KINDS: Record<string, AssetKind> = {
  iso: "iso",
  "disk-image": "diskImage",
  uki: "uki",
  kernel: "kernel",
  initramfs: "initramfs",
  cmdline: "cmdline",
  installer: "installerTarball",
};

interface TargetOpts {
  talosVersion: string;
  arch: string;
  platform: string;
  secureboot?: boolean;
}

function target(id: string, o: TargetOpts) {
  if (o.arch !== "amd64" && o.arch !== "arm64")
    throw new Error(`--arch must be amd64 or arm64, not ${o.arch}`);
  return {
    schematicId: id,
    version: o.talosVersion,
    arch: o.arch as Arch,
    platform: o.platform,
    secureBoot: o.secureboot === true,
  };
}

/** The `schematic` command group. */
export function schematicCommand(io: SchematicCommandIO = processIO): Command {
  const cmd = new Command("schematic").description(
    "Image Factory schematics: IDs, creation, asset URLs, downloads",
  );

  cmd
    .command("id")
    .description("schematic ID computed offline, exactly as the factory would (YAML or JSON input)")
    .argument("[file]", "schematic file, or - for stdin", "-")
    .option("--canonical", "print the canonical YAML instead of the ID")
    .option(
      "--talos-version <version>",
      "also check extension and overlay names against this version's catalog",
    )
    .option("--arch <arch>", "with --talos-version: the target architecture")
    .addOption(outputOption())
    .action(
      (
        file: string,
        opts: { canonical?: boolean; talosVersion?: string; arch?: Arch; output: string },
      ) => {
        const format = parseOutputFormat(opts.output);
        const s = parseSchematic(readInput(io, file));
        if (opts.canonical) {
          io.stdout(canonicalSchematicYaml(s));
          return;
        }
        const id = schematicId(s);
        const issues = opts.talosVersion
          ? validateSchematic(
              s,
              offlineCatalog(opts.talosVersion),
              opts.arch ? { arch: opts.arch } : {},
            ).issues
          : [];
        for (const i of issues) io.stderr(`${i.severity}: ${i.path}: ${i.message}\n`);
        io.stdout(format === "table" ? `${id}\n` : render(format, { id, issues }));
        if (issues.some((i) => i.severity === "error"))
          throw new Error(`schematic does not fit Talos ${opts.talosVersion}`);
      },
    );

  cmd
    .command("create")
    .description("store a schematic in the factory and print its ID")
    .argument("[file]", "schematic file, or - for stdin", "-")
    .addOption(factoryOption())
    .addOption(outputOption())
    .action(async (file: string, opts: { factory: string; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const created = await new FactoryClient({ baseUrl: opts.factory }).createSchematic(
        parseSchematic(readInput(io, file)),
      );
      io.stdout(
        format === "table"
          ? `${created.id}\n`
          : render(format, { id: created.id, schematic: created.schematic }),
      );
    });

  cmd
    .command("get")
    .description("print the canonical YAML the factory stores for an ID")
    .argument("<id>", "schematic ID")
    .addOption(factoryOption())
    .addOption(outputOption())
    .action(async (id: string, opts: { factory: string; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const client = new FactoryClient({ baseUrl: opts.factory });
      if (format === "table") io.stdout(await client.getSchematicYaml(id));
      else io.stdout(render(format, { id, schematic: await client.getSchematic(id) }));
    });

  const withTarget = (c: Command) =>
    c
      .requiredOption("--talos-version <version>", "Talos version, e.g. v1.12.0")
      .option("--arch <arch>", "amd64 or arm64", "amd64")
      .option("--platform <platform>", "Talos platform", "metal")
      .option("--secureboot", "SecureBoot assets")
      .addOption(factoryOption());

  withTarget(
    cmd
      .command("urls")
      .description("every asset URL and the installer image for a schematic")
      .argument("<id>", "schematic ID"),
  )
    .option("--pxe <url>", "PXE URL (defaults to the factory's)")
    .addOption(outputOption())
    .action((id: string, opts: TargetOpts & { factory: string; pxe?: string; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const client = new FactoryClient({
        baseUrl: opts.factory,
        ...(opts.pxe ? { pxeBaseUrl: opts.pxe } : {}),
      });
      const urls = client.urls(target(id, opts));
      const rows = Object.entries(urls)
        .filter(([k]) => !["schematicId", "version", "arch", "platform", "secureBoot"].includes(k))
        .map(([kind, url]) => ({ kind, url: String(url) }));
      io.stdout(
        render(format, urls, {
          rows,
          columns: [
            { header: "KIND", value: (r) => r.kind },
            { header: "URL", value: (r) => r.url },
          ],
        }),
      );
    });

  withTarget(
    cmd
      .command("download")
      .description("download an asset with a progress bar; resumes a previous attempt")
      .argument("<id>", "schematic ID"),
  )
    .addOption(new Option("--kind <kind>", "asset kind").choices(Object.keys(KINDS)).default("iso"))
    .option("--format <format>", "disk image format (raw, qcow2, vhd, ova)")
    .option("--compression <c>", "disk image compression (xz, gz, zst, tar.gz)")
    .option("--out <path>", "output file (defaults to the asset's file name)")
    .option(
      "--timeout <seconds>",
      "longest wait for data; the factory may build for minutes",
      "600",
    )
    .action(
      async (
        id: string,
        opts: TargetOpts & {
          factory: string;
          kind: string;
          format?: string;
          compression?: string;
          out?: string;
          timeout: string;
        },
      ) => {
        const t = target(id, opts);
        const kind = KINDS[opts.kind] as AssetKind;
        const path =
          kind === "diskImage" && (opts.format || opts.compression)
            ? assetPaths.diskImage(t, {
                ...(opts.format ? { format: opts.format as never } : {}),
                ...(opts.compression ? { compression: opts.compression as never } : {}),
              })
            : assetPaths[kind](t);
        const client = new FactoryClient({
          baseUrl: opts.factory,
          timeoutMs: Number(opts.timeout) * 1000,
        });
        const url = imageUrl(client.baseUrl, t, path);
        const out = opts.out ?? path;
        const bar = progressBar(io);
        const result = await downloadToFile(client, url, out, {
          onProgress: ({ received, total }) => bar.update(received, total),
        });
        bar.finish(progressLine(result.size, result.size));
        io.stdout(`${result.path}\n`);
      },
    );

  return cmd;
}
