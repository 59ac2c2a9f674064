// The factory client against the simulator, over msw and over real HTTP.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FactoryClient,
  type FactoryClientOptions,
  FactoryError,
  InvalidSchematicError,
  NotFoundError,
  schematic,
  schematicId,
} from "@taloskit/factory";
import { downloadToFile } from "@taloskit/factory/node";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  FactorySimulator,
  factoryMswHandlers,
  SIM_COSIGN_KEY,
  SIM_SIGNING_CERT,
  startFactoryServer,
} from "../src/index.js";

// undici is a dev dependency of @taloskit/factory (for the Dispatcher type); borrow it from there.
const { Agent } = createRequire(new URL("../../factory/package.json", import.meta.url))(
  "undici",
) as {
  Agent: new (options: {
    connections: number;
  }) => { close(): Promise<void>; dispatch(...args: never[]): unknown };
};

const EXT = schematic()
  .extensions("iscsi-tools", "util-linux-tools")
  .kernelArgs("net.ifnames=0")
  .build();

async function caught(promise: Promise<unknown>): Promise<FactoryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FactoryError);
    return error as FactoryError;
  }
  throw new Error("expected the call to fail");
}

interface Transport {
  name: string;
  setup(sim: FactorySimulator): Promise<{ baseUrl: string; close(): Promise<void> }>;
}

const transports: Transport[] = [
  {
    name: "msw",
    async setup(sim) {
      const baseUrl = "https://factory.sim.test";
      const server = setupServer(...factoryMswHandlers(sim, baseUrl));
      server.listen({ onUnhandledRequest: "error" });
      return { baseUrl, close: async () => server.close() };
    },
  },
  {
    name: "http",
    async setup(sim) {
      const server = await startFactoryServer({ sim });
      return { baseUrl: server.url, close: () => server.close() };
    },
  },
];

describe.each(transports)("factory client over $name", (transport) => {
  let sim: FactorySimulator;
  let baseUrl: string;
  let close: () => Promise<void>;
  let dir: string;
  const client = (options: FactoryClientOptions = {}) =>
    new FactoryClient({
      baseUrl,
      backoff: { baseDelayMs: 1, maxDelayMs: 1 },
      timeoutMs: 5_000,
      ...options,
    });

  beforeAll(async () => {
    sim = new FactorySimulator({ assetSize: 100_000 });
    ({ baseUrl, close } = await transport.setup(sim));
    dir = await mkdtemp(join(tmpdir(), "taloskit-factory-"));
  });
  afterAll(async () => {
    await close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    sim.clearFaults();
    sim.requests.length = 0;
  });

  it("creates a schematic with the offline ID and caches it", async () => {
    const c = client();
    const created = await c.createSchematic(EXT);
    expect(created.id).toBe(schematicId(EXT));
    expect(created.schematic).toEqual(EXT);
    expect(created.yaml).toContain("- siderolabs/iscsi-tools");
    await c.createSchematic(EXT);
    expect(sim.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(sim.requests[0]?.headers["content-type"]).toBe("application/yaml");
  });

  it("gets a schematic, and says not found for an unknown ID", async () => {
    const id = sim.put(EXT);
    expect(await client().getSchematic(id)).toEqual(EXT);
    const error = await caught(client().getSchematic("a".repeat(64)));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe("FACTORY_NOT_FOUND");
    expect(error.serverMessage).toBe("schematic not found");
    expect((await caught(client().getSchematic("nothex"))).code).toBe("INVALID_ARGUMENT");
  });

  it("carries the factory's message when it refuses a schematic", async () => {
    const error = await caught(client().createSchematic({ owner: "me" }));
    expect(error).toBeInstanceOf(InvalidSchematicError);
    expect(error.code).toBe("FACTORY_INVALID_SCHEMATIC");
    expect(error.status).toBe(400);
    expect(error.serverMessage).toBe("owner field is only supported in Enterprise edition");
    const raw = await fetch(`${baseUrl}/schematics`, {
      method: "POST",
      body: "customization:\n  nope: 1\n",
    });
    expect(raw.status).toBe(400);
    expect(await raw.text()).toMatch(/customization\.nope: unknown field "nope"\n$/);
  });

  it("reads version lists sent as text/plain JSON", async () => {
    const raw = await fetch(`${baseUrl}/versions`);
    expect(raw.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const versions = await client().versions();
    expect(versions).toContain("v1.10.0");
    expect(versions).toEqual(
      [...versions].sort((a, b) => a.localeCompare(b, "en", { numeric: true })),
    );
    expect(await client().brokenVersions()).toEqual([]);
  });

  it("lists extensions and overlays of a version, 404 for unknown, 500 for malformed", async () => {
    const c = client();
    const extensions = await c.extensions("1.10.0");
    expect(extensions.map((e) => e.name)).toContain("siderolabs/nvme-cli");
    expect(extensions.map((e) => e.name)).not.toContain("siderolabs/xe");
    expect((await c.overlays("v1.13.0")).map((o) => o.name)).toContain("rock5b-plus");
    const missing = await caught(c.extensions("v1.5.0"));
    expect(missing.code).toBe("FACTORY_NOT_FOUND");
    expect(missing.serverMessage).toBe("version v1.5.0 is not available");
    expect((await caught(c.extensions("one.two"))).code).toBe("INVALID_ARGUMENT");
    const malformed = await fetch(`${baseUrl}/version/one.two/extensions/official`);
    expect(malformed.status).toBe(500);
    expect(await malformed.text()).toBe("internal server error\n");
  });

  it("fetches talosctl links, the SecureBoot certificate and the cosign key", async () => {
    const links = await client().talosctl("v1.11.0");
    expect(links).toContain(`${baseUrl}/talosctl/v1.11.0/talosctl-linux-amd64`);
    expect(await client().talosctl("v1.10.0")).toEqual([]);
    expect(await client().secureBootSigningCert()).toBe(SIM_SIGNING_CERT);
    expect(await client().cosignSigningKey()).toBe(SIM_COSIGN_KEY);
  });

  it("retries idempotent requests on 5xx with backoff, and gives up", async () => {
    const delays: number[] = [];
    const c = client({
      cache: false,
      onRetry: (n) => {
        delays.push(n);
      },
    });
    sim.failNext(2);
    expect(await c.versions()).toContain("v1.14.0");
    expect(delays).toEqual([1, 2]);
    sim.failNext(10, 503);
    const error = await caught(c.versions());
    expect(error.code).toBe("FACTORY_SERVER_ERROR");
    expect(sim.requests.filter((r) => r.path === "/versions")).toHaveLength(3 + 4);
  });

  it("never retries a POST", async () => {
    sim.failNext(1, 500, /^\/schematics$/);
    const error = await caught(client().createSchematic(schematic().kernelArgs("x=1").build()));
    expect(error.code).toBe("FACTORY_SERVER_ERROR");
    expect(sim.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("times out and aborts", async () => {
    sim.setDelay(300);
    const timeout = await caught(client({ cache: false, retries: 0, timeoutMs: 50 }).versions());
    expect(timeout.code).toBe("FACTORY_TIMEOUT");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const aborted = await caught(client({ cache: false }).versions({ signal: controller.signal }));
    expect(aborted.code).toBe("FACTORY_ABORTED");
  });

  it("rejects a response of the wrong shape", async () => {
    const c = client({
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        return new Response('{"id":"not-an-id"}', { status: 201, headers: response.headers });
      },
    });
    const error = await caught(c.createSchematic(schematic().kernelArgs("shape=1").build()));
    expect(error.code).toBe("FACTORY_BAD_RESPONSE");
    expect(error.message).toContain("id: expected a 64-digit hex schematic ID");
  });

  it("downloads with progress and checks the bytes", async () => {
    const id = sim.put(EXT);
    const c = client();
    const target = { schematicId: id, version: "v1.12.0", arch: "amd64" as const };
    const url = c.assetUrl("iso", target);
    const chunks: Uint8Array[] = [];
    const seen: number[] = [];
    const result = await c.download(url, (chunk) => void chunks.push(chunk), {
      onProgress: (p) => seen.push(p.received),
    });
    expect(result.size).toBe(100_000);
    expect(Buffer.concat(chunks)).toEqual(
      Buffer.from(sim.assetBytes(id, "v1.12.0", "metal-amd64.iso")),
    );
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(100_000);
  });

  it("resumes an interrupted download and never leaves a partial file under the final name", async () => {
    const id = sim.put(EXT);
    const c = client();
    const url = c.assetUrl("diskImage", { schematicId: id, version: "v1.12.0", arch: "arm64" });
    expect(url.endsWith("/metal-arm64.raw.zst")).toBe(true);
    const path = join(dir, `disk-${transport.name}.raw.zst`);
    sim.interruptNextDownload(40_000);
    const error = await caught(downloadToFile(c, url, path));
    expect(error.code).toBe("FACTORY_NETWORK");
    expect(existsSync(path)).toBe(false);
    const partial = (await stat(`${path}.part`)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(100_000);
    const result = await downloadToFile(c, url, path);
    expect(result.resumed).toBe(true);
    expect(sim.requests.at(-1)?.headers.range).toBe(`bytes=${partial}-`);
    expect(await readFile(path)).toEqual(
      Buffer.from(sim.assetBytes(id, "v1.12.0", "metal-arm64.raw.zst")),
    );
    expect(existsSync(`${path}.part`)).toBe(false);
  });

  it("fails a download of the wrong size without creating the file", async () => {
    const id = sim.put(EXT);
    const c = client();
    const url = c.assetUrl("kernel", { schematicId: id, version: "v1.12.0", arch: "amd64" });
    const path = join(dir, `kernel-${transport.name}`);
    const error = await caught(
      downloadToFile(c, url, path, { expectedSize: 5, keepPartial: false }),
    );
    expect(error.code).toBe("DOWNLOAD_SIZE_MISMATCH");
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.part`)).toBe(false);
  });

  it("surfaces build-time refusals of an asset", async () => {
    const id = sim.put(schematic().extensions("siderolabs/xe").build());
    const c = client();
    const error = await caught(
      c.download(
        c.assetUrl("iso", { schematicId: id, version: "v1.10.0", arch: "amd64" }),
        () => {},
      ),
    );
    expect(error.code).toBe("FACTORY_INVALID_SCHEMATIC");
    expect(error.serverMessage).toBe(
      'official extension "siderolabs/xe" is not available for Talos version v1.10.0',
    );
    const bad = await fetch(`${baseUrl}/image/${id}/v1.12.0/metal-amd64.ssd`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe(
      'error parsing profile from path: invalid profile path: "metal-amd64.ssd"\n',
    );
  });

  it("serves a PXE script", async () => {
    const id = sim.put(EXT);
    const c = client();
    const script = await (
      await fetch(c.pxeUrl({ schematicId: id, version: "v1.12.0", arch: "amd64" }))
    ).text();
    expect(script).toContain(`kernel ${baseUrl}/image/${id}/v1.12.0/kernel-amd64`);
  });
});

describe("factory client over real HTTP only", () => {
  it("follows redirects to object storage and uses an undici dispatcher with extra headers", async () => {
    const server = await startFactoryServer({ redirectImages: true, assetSize: 1000 });
    const agent = new Agent({ connections: 2 });
    try {
      const id = server.sim.put({});
      const c = new FactoryClient({
        baseUrl: server.url,
        dispatcher: agent,
        headers: { Authorization: "Bearer t" },
      });
      const url = c.assetUrl("initramfs", { schematicId: id, version: "1.13.0", arch: "amd64" });
      let size = 0;
      const result = await c.download(url, (chunk) => {
        size += chunk.byteLength;
      });
      expect(result.size).toBe(1000);
      expect(size).toBe(1000);
      expect(server.sim.requests.map((r) => r.path.split("/")[1])).toEqual(["image", "cdn"]);
      expect(server.sim.requests[0]?.headers.authorization).toBe("Bearer t");
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it("says network error when nothing listens", async () => {
    const server = await startFactoryServer();
    await server.close();
    const error = await caught(
      new FactoryClient({
        baseUrl: server.url,
        retries: 1,
        backoff: { baseDelayMs: 1, maxDelayMs: 1 },
      }).versions(),
    );
    expect(error.code).toBe("FACTORY_NETWORK");
  });
});
