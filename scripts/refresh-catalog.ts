// Regenerates the offline extension catalog (packages/factory/src/catalog-data.ts)
// from an Image Factory: for each Talos minor of the snapshot, the newest stable
// release the factory lists, its official extensions (GET
// /version/{v}/extensions/official) and overlays (GET /version/{v}/overlays/official),
// with the image refs and digests the factory gives. The factory's lists are the
// same for amd64 and arm64 (images are multi-arch; content for one arch only is
// recorded in catalog.ts's ARCH_ONLY), so there is one list per version.
//
//   npx tsx --conditions=@taloskit/source scripts/refresh-catalog.ts --factory https://factory.talos.dev [--minors 1.9,1.10,...] [--out FILE]
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compareVersions, minorOf, tryParseTalosVersion } from "@taloskit/core";
import { FactoryClient, type FactoryClientOptions } from "@taloskit/factory";
import { SNAPSHOT_MINORS } from "../packages/factory/src/catalog-data.js";

const OUT = resolve(import.meta.dirname, "../packages/factory/src/catalog-data.ts");

export interface CatalogSnapshot {
  minors: string[];
  /** Extension name (without `siderolabs/`) and the first minor that lists it, sorted by name. */
  since: [name: string, minor: string][];
  /** Per exact version read: name (overlays as `overlay:<name>`) to image ref and digest. */
  images: Record<string, Record<string, [ref: string, digest: string]>>;
}

/** The newest release of a minor that is not a prerelease, or undefined. */
function newestStable(tags: string[], minor: string): string | undefined {
  return tags
    .filter((t) => minorOf(t) === minor && !tryParseTalosVersion(t)?.prerelease)
    .sort(compareVersions)
    .pop();
}

/** Reads the catalogs of the given minors from a factory. */
export async function readFactoryCatalogs(
  factory: string,
  minors: readonly string[] = SNAPSHOT_MINORS,
  clientOptions: Omit<FactoryClientOptions, "baseUrl"> = {},
): Promise<CatalogSnapshot> {
  const client = new FactoryClient({ ...clientOptions, baseUrl: factory, cache: false });
  const tags = await client.versions();
  const since = new Map<string, string>();
  const images: CatalogSnapshot["images"] = {};
  for (const minor of minors) {
    const tag = newestStable(tags, minor);
    if (!tag) throw new Error(`${factory} lists no stable release of Talos ${minor}`);
    const [extensions, overlays] = await Promise.all([
      client.extensions(tag),
      client.overlays(tag),
    ]);
    const pinned: Record<string, [string, string]> = {};
    for (const e of extensions) {
      const short = e.name.replace(/^siderolabs\//, "");
      if (!since.has(short)) since.set(short, minor);
      pinned[e.name] = [e.ref, e.digest];
    }
    for (const o of overlays) pinned[`overlay:${o.name}`] = [o.ref, o.digest];
    images[tag] = pinned;
  }
  return {
    minors: [...minors],
    since: [...since].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    images,
  };
}

const q = JSON.stringify;

/** The text of catalog-data.ts for a snapshot, formatted as the project's formatter writes it. */
export function renderCatalogData(snapshot: CatalogSnapshot): string {
  const images = Object.entries(snapshot.images);
  const body = images.length
    ? `{\n${images
        .map(
          ([tag, pins]) =>
            `  ${q(tag)}: {\n${Object.entries(pins)
              .map(
                ([name, [ref, digest]]) =>
                  `    ${q(name)}: [\n      ${q(ref)},\n      ${q(digest)},\n    ],\n`,
              )
              .join("")}  },\n`,
        )
        .join("")}}`
    : "{}";
  return `// Offline catalog snapshot: each official extension and the first Talos minor,
// from ${snapshot.minors[0]} on, whose catalog lists it (from the extension lists per version in
// shared/image-factory/extensions-by-version.tsv), and the image refs and
// digests of the exact versions read from a factory (none yet: this machine
// has no way to the public factory). Regenerate with
// \`tsx scripts/refresh-catalog.ts --factory https://factory.talos.dev\`;
// do not edit entries by hand.

/** Talos minors this snapshot covers. */
export const SNAPSHOT_MINORS = [${snapshot.minors.map((m) => q(m)).join(", ")}] as const;

/** \`name firstMinor\` per line; the name is without the \`siderolabs/\` prefix. */
export const EXTENSION_SINCE = \`
${snapshot.since.map(([name, minor]) => `${name} ${minor}`).join("\n")}
\`;

/**
 * Image ref and digest per exact Talos version, per extension name (overlays as
 * \`overlay:<name>\`), as the factory listed them when the snapshot was refreshed.
 */
export const IMAGE_DIGESTS: Readonly<
  Record<string, Readonly<Record<string, readonly [ref: string, digest: string]>>>
> = ${body};
`;
}

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const factory = flag("--factory");
  if (!factory)
    throw new Error("--factory URL is needed, e.g. --factory https://factory.talos.dev");
  const minors = flag("--minors")?.split(",") ?? SNAPSHOT_MINORS;
  const out = flag("--out") ?? OUT;
  const snapshot = await readFactoryCatalogs(factory, minors);
  writeFileSync(out, renderCatalogData(snapshot));
  console.log(
    `wrote ${out}: ${snapshot.since.length} extensions, ${Object.keys(snapshot.images).join(", ")}`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(`refresh-catalog: ${(error as Error).message}`);
    process.exitCode = 1;
  });
}
