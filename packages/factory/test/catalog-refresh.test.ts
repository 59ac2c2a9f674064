// The offline catalog's data and the script that refreshes it from a factory
// (scripts/refresh-catalog.ts), run against the simulated Image Factory over HTTP.
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFactoryServer } from "@taloskit/testing";
import { describe, expect, it } from "vitest";
import { readFactoryCatalogs, renderCatalogData } from "../../../scripts/refresh-catalog.js";
import { EXTENSION_SINCE, IMAGE_DIGESTS, SNAPSHOT_MINORS } from "../src/catalog-data.js";
import { FactoryClient, offlineCatalog } from "../src/index.js";

const DATA = new URL("../src/catalog-data.ts", import.meta.url);
const TSV = new URL("../../../../shared/image-factory/extensions-by-version.tsv", import.meta.url);
const committedSince = () =>
  EXTENSION_SINCE.trim()
    .split("\n")
    .map((l) => l.split(" ") as [string, string]);

describe("the offline catalog data", () => {
  it("is what the refresh script renders for it, byte for byte", () => {
    const text = renderCatalogData({
      minors: [...SNAPSHOT_MINORS],
      since: committedSince(),
      images: IMAGE_DIGESTS as Record<string, Record<string, [string, string]>>,
    });
    expect(text).toBe(readFileSync(DATA, "utf8"));
  });

  it("lists each extension from the first minor whose factory catalog has it (shared extensions-by-version)", () => {
    const [header, ...rows] = readFileSync(TSV, "utf8").trim().split("\n");
    const minors = (header ?? "")
      .split("\t")
      .slice(1)
      .map((v) => v.replace(/^v/, ""));
    const expected = rows.map((row) => {
      const [name, ...cells] = row.split("\t");
      return [(name ?? "").replace(/^siderolabs\//, ""), minors[cells.indexOf("yes")]];
    });
    expect(committedSince()).toEqual(expected);
  });

  it("has no digests it cannot know: refs and digests left out, and the catalog says so", () => {
    const c = offlineCatalog("1.14.0");
    expect(c.digests).toBe("unknown-offline");
    expect(c.extensions.every((e) => e.ref === undefined && e.digest === undefined)).toBe(true);
    expect(c.overlays.every((o) => o.digest === undefined)).toBe(true);
    expect(c.extensions.map((e) => e.name)).toContain("siderolabs/nvidia-fabricmanager-lts");
  });
});

describe("refresh-catalog against the simulated factory", () => {
  it("reads the newest stable release of each minor, with the factory's refs and digests", async () => {
    const server = await startFactoryServer({
      versions: [
        "v1.12.2",
        "v1.12.6",
        "v1.13.0",
        "v1.13.3",
        "v1.14.0",
        "v1.14.1",
        "v1.15.0-beta.0",
      ],
    });
    const dir = await mkdtemp(join(tmpdir(), "catalog-refresh-"));
    try {
      const snapshot = await readFactoryCatalogs(server.url, ["1.12", "1.13", "1.14"]);
      expect(Object.keys(snapshot.images)).toEqual(["v1.12.6", "v1.13.3", "v1.14.1"]);
      // Every pin is what the factory lists for that exact version.
      const client = new FactoryClient({ baseUrl: server.url });
      const listed = await client.extensions("v1.14.1");
      const pins = snapshot.images["v1.14.1"] ?? {};
      for (const e of listed) expect(pins[e.name]).toEqual([e.ref, e.digest]);
      const overlays = await client.overlays("v1.14.1");
      expect(pins["overlay:rpi_5"]).toEqual([
        overlays.find((o) => o.name === "rpi_5")?.ref,
        overlays.find((o) => o.name === "rpi_5")?.digest,
      ]);
      // First minors: the snapshot's own, floored at the oldest minor read.
      const floor = (m: string) => (["1.9", "1.10", "1.11"].includes(m) ? "1.12" : m);
      expect(snapshot.since).toEqual(committedSince().map(([n, m]) => [n, floor(m)]));

      // The rendered file is a module whose data an offline catalog can pin from.
      const file = join(dir, "catalog-data.ts");
      await writeFile(file, renderCatalogData(snapshot));
      const data = (await import(file)) as { IMAGE_DIGESTS: typeof IMAGE_DIGESTS };
      expect(data.IMAGE_DIGESTS["v1.13.3"]?.["siderolabs/amdgpu"]).toEqual(
        snapshot.images["v1.13.3"]?.["siderolabs/amdgpu"],
      );
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails naming the minor when the factory has no stable release of it", async () => {
    const server = await startFactoryServer({ versions: ["v1.14.0"] });
    try {
      await expect(readFactoryCatalogs(server.url, ["1.13"])).rejects.toThrow(
        /lists no stable release of Talos 1\.13/,
      );
    } finally {
      await server.close();
    }
  });
});
