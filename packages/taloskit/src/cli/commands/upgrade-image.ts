// `taloskit upgrade --image IMAGE`: talosctl's spelling of a node upgrade, over
// the library's upgradeNode. The node keeps the schematic it runs unless told
// otherwise: an installer image that names no schematic (the vanilla
// `ghcr.io/siderolabs/installer:vX` talosctl users type) is turned into the
// factory installer of the node's own schematic, platform and secure boot.
import { installerImage, VANILLA_SCHEMATIC_ID } from "@taloskit/factory";
import { type Command, Option } from "commander";
import { readNodeFacts, upgradeNode } from "../../upgrade/index.js";
import { parseDuration, processIO } from "../globals.js";
import { boolOption, onEachNode, printRows } from "./node-action.js";
import { progressPrinter, type UpgradeCommandIO } from "./upgrade.js";

/** What an installer reference names: its version tag, and its schematic when it is a factory installer. */
export function parseInstaller(image: string): { tag: string; schematic?: string; repo: string } {
  const at = image.lastIndexOf(":");
  if (at < 0 || at < image.lastIndexOf("/"))
    throw new Error(
      `--image ${image} has no version tag (e.g. ghcr.io/siderolabs/installer:v1.14.0)`,
    );
  const tag = image.slice(at + 1);
  if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(tag))
    throw new Error(`--image ${image}: tag "${tag}" is not a Talos version`);
  const repo = image.slice(0, at);
  const last = repo.slice(repo.lastIndexOf("/") + 1);
  return /^[0-9a-f]{64}$/.test(last) ? { tag, schematic: last, repo } : { tag, repo };
}

interface ImageFlags {
  image?: string;
  schematic?: string;
  keepSchematic: boolean;
  factory: string;
  stage?: boolean;
  preserve?: boolean;
  force?: boolean;
  rebootMode: "default" | "powercycle";
  timeout: string;
}

/**
 * Gives the `upgrade` group talosctl's single-node form, `upgrade --image IMAGE`
 * (its `plan` and `run` subcommands stay as they are).
 */
export function withImageUpgrade(upgrade: Command, io: UpgradeCommandIO = processIO): Command {
  upgrade
    .option(
      "--image <image>",
      "installer image to upgrade the nodes to, e.g. ghcr.io/siderolabs/installer:v1.14.0",
    )
    .option("--schematic <id>", "install this schematic instead of the one each node runs")
    .addOption(
      boolOption(
        "--keep-schematic",
        "when the image names no schematic, install the node's own schematic from the factory",
        true,
      ),
    )
    .addOption(
      new Option(
        "--factory-url <url>",
        "Image Factory whose installer keeps the schematic",
      ).default("https://factory.talos.dev"),
    )
    .option("--stage", "Talos < 1.13: stage the upgrade to run at the next reboot")
    .option("--preserve", "Talos < 1.13: keep the data of the node's ephemeral partition")
    .option("--force", "Talos < 1.13: skip the node's own etcd health checks")
    .addOption(
      new Option("--reboot-mode <mode>", "reboot mode")
        .choices(["default", "powercycle"])
        .default("default"),
    )
    .option(
      "--timeout <duration>",
      "how long a node may take to come back after its reboot",
      "15m",
    );
  return upgrade.action(async (raw: Omit<ImageFlags, "factory"> & { factoryUrl: string }) => {
    const opts: ImageFlags = { ...raw, factory: raw.factoryUrl };
    if (!opts.image) throw new Error("upgrade needs --image IMAGE (or a subcommand: plan, run)");
    const wanted = parseInstaller(opts.image);
    if (opts.schematic && !/^[0-9a-f]{64}$/.test(opts.schematic))
      throw new Error(`--schematic ${opts.schematic} is not a 64-digit schematic ID`);
    const rebootMs = parseDuration(opts.timeout);
    const { flags, results } = await onEachNode(
      upgrade,
      io,
      async (t) => {
        if (!t.node) throw new Error("upgrade needs the node to upgrade: pass -n/--nodes");
        const facts = await readNodeFacts(t.client, t.node, { signal: t.signal });
        const schematic = opts.schematic ?? wanted.schematic;
        let image = opts.image as string;
        let target = schematic ?? VANILLA_SCHEMATIC_ID;
        const keep = !schematic && opts.keepSchematic && facts.schematic !== VANILLA_SCHEMATIC_ID;
        if (keep || (opts.schematic && opts.schematic !== wanted.schematic)) {
          target = opts.schematic ?? facts.schematic;
          image = installerImage(opts.factory, {
            schematicId: target,
            version: wanted.tag,
            platform: facts.platform,
            secureBoot: facts.secureBoot,
          });
          io.stderr(
            `${t.node}: ${keep ? `keeping its schematic ${target.slice(0, 12)}…` : `schematic ${target.slice(0, 12)}…`}: installing ${image}\n`,
          );
        }
        return upgradeNode(
          t.client,
          t.node,
          {
            version: wanted.tag.startsWith("v") ? wanted.tag : `v${wanted.tag}`,
            image,
            schematic: target,
          },
          {
            signal: t.signal,
            facts,
            rebootMode: opts.rebootMode,
            legacy: {
              stage: opts.stage,
              preserve: opts.preserve,
              force: opts.force,
              rebootMode: opts.rebootMode,
            },
            timeouts: { rebootMs },
            onEvent: progressPrinter(io),
          },
        ).then((r) => ({ ...r, image }));
      },
      undefined,
      { concurrency: 1 },
    );
    printRows(
      io,
      flags,
      results.map((r) => r.value),
      [
        { header: "NODE", value: (r) => r.node },
        { header: "FROM", value: (r) => r.from },
        { header: "TO", value: (r) => r.version },
        { header: "SCHEMATIC", value: (r) => `${r.schematic.slice(0, 12)}…` },
        { header: "IMAGE", value: (r) => r.image },
        { header: "TIME", value: (r) => `${(r.durationMs / 1000).toFixed(1)}s` },
      ],
    );
  });
}
