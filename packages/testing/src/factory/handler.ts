// A simulated Talos Image Factory as one fetch-style handler. It answers
// every public route the way the real factory does (IDs, status codes, body
// text, and quirks such as JSON lists sent as text/plain), serves synthetic
// image bytes with Range support, and lets tests inject faults.

import { createHash } from "node:crypto";
import { compareVersions, tryParseTalosVersion, versionTag } from "@taloskit/core";
import {
  canonicalSchematicYaml,
  factoryExtensionAlias,
  offlineCatalog,
  parseSchematic,
  type Schematic,
  schematicId,
  supports,
} from "@taloskit/factory";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest();

/**
 * The catalog the simulator lists for a version: the offline snapshot's names,
 * each with an image ref and digest as the factory gives them. They are the
 * simulator's own (the digest is the SHA-256 of name and version), since a
 * simulated factory has no registry; a client cannot tell them from real ones.
 */
export function simulatedCatalog(tag: string) {
  const catalog = offlineCatalog(tag);
  const pin = (image: string, tagOf: string) => ({
    ref: `ghcr.io/${image}:${tagOf}`,
    digest: `sha256:${createHash("sha256").update(`${image}@${tagOf}`).digest("hex")}`,
  });
  return {
    extensions: catalog.extensions.map((e) => ({
      name: e.name,
      ...pin(e.name, tag),
      author: e.author,
      description:
        e.description || `[core] ${e.name.replace(/^siderolabs\//, "")} for Talos ${tag}\n`,
    })),
    overlays: catalog.overlays.map((o) => ({
      name: o.name,
      image: o.image,
      ...pin(o.image, tag),
    })),
  };
}

export interface FactorySimOptions {
  /** Versions the simulator serves (ascending order is restored). */
  versions?: string[];
  brokenVersions?: string[];
  /** Size in bytes of every synthetic asset (64 KiB by default). */
  assetSize?: number;
  /** Answer GET /image with 302 to a CDN-like path, as factories with object storage do. */
  redirectImages?: boolean;
  /** Whether SecureBoot assets can be built (true by default). */
  secureBoot?: boolean;
  /** External URL used in talosctl links and PXE scripts; the request origin by default. */
  externalUrl?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export const DEFAULT_SIM_VERSIONS = [
  "v1.9.0",
  "v1.9.6",
  "v1.10.0",
  "v1.10.7",
  "v1.11.0",
  "v1.11.5",
  "v1.12.0",
  "v1.12.4",
  "v1.13.0",
  "v1.13.3",
  "v1.14.0",
];

const PLAIN = { "Content-Type": "text/plain; charset=utf-8" };
const PROFILE_ERROR = (path: string) =>
  `error parsing profile from path: invalid profile path: "${path}"`;

export const SIM_SIGNING_CERT =
  "-----BEGIN CERTIFICATE-----\nTUlNVUxBVEVEIFNFQ1VSRUJPT1QgQ0VSVElGSUNBVEU=\n-----END CERTIFICATE-----\n";
export const SIM_COSIGN_KEY =
  "-----BEGIN PUBLIC KEY-----\nU0lNVUxBVEVEIENPU0lHTiBLRVk=\n-----END PUBLIC KEY-----\n";

/** The simulated factory: call `handle(request)`, or serve it with msw or node:http. */
export class FactorySimulator {
  readonly schematics = new Map<string, string>();
  readonly requests: RecordedRequest[] = [];
  readonly versions: string[];
  readonly brokenVersions: string[];
  readonly assetSize: number;
  readonly redirectImages: boolean;
  readonly secureBoot: boolean;
  externalUrl: string | undefined;
  #failures: { count: number; status: number; match?: RegExp }[] = [];
  #interruptAfter: number | undefined;
  #delayMs = 0;
  #requestSeq = 0;

  constructor(options: FactorySimOptions = {}) {
    this.versions = [...(options.versions ?? DEFAULT_SIM_VERSIONS)]
      .map(versionTag)
      .sort(compareVersions);
    this.brokenVersions = (options.brokenVersions ?? []).map(versionTag);
    this.assetSize = options.assetSize ?? 64 * 1024;
    this.redirectImages = options.redirectImages ?? false;
    this.secureBoot = options.secureBoot ?? true;
    this.externalUrl = options.externalUrl;
  }

  /** The next `count` requests (matching `match`, if given) fail with `status` (500 by default). */
  failNext(count: number, status = 500, match?: RegExp): void {
    this.#failures.push(match ? { count, status, match } : { count, status });
  }

  /** The next asset body breaks off after `bytes` bytes (the connection drops). */
  interruptNextDownload(bytes: number): void {
    this.#interruptAfter = bytes;
  }

  /** Drops pending failures, interruptions and delay. */
  clearFaults(): void {
    this.#failures = [];
    this.#interruptAfter = undefined;
    this.#delayMs = 0;
  }

  /** Every answer waits this long first (for timeout tests). */
  setDelay(ms: number): void {
    this.#delayMs = ms;
  }

  /** The deterministic bytes of an asset, for checking downloads. */
  assetBytes(id: string, version: string, path: string): Uint8Array {
    return syntheticBytes(`${id}/${versionTag(version)}/${path}`, this.assetSize);
  }

  /** Stores a schematic directly, as if POSTed. */
  put(s: Schematic | string): string {
    const yaml = canonicalSchematicYaml(s);
    const id = schematicId(yaml);
    this.schematics.set(id, yaml);
    return id;
  }

  /** The fetch-style handler. */
  handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    this.requests.push({
      method: request.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(request.headers),
    });
    const requestId = request.headers.get("x-request-id") ?? `sim-${++this.#requestSeq}`;
    const common = { Server: "image-factory-sim", "X-Request-ID": requestId };
    if (this.#delayMs > 0) await delay(this.#delayMs, request.signal);
    const failure = this.#failures.find(
      (f) => f.count > 0 && (!f.match || f.match.test(url.pathname)),
    );
    let response: Response;
    if (failure) {
      failure.count--;
      response = text(
        failure.status,
        failure.status >= 500 ? "internal server error" : "simulated failure",
      );
    } else {
      try {
        response = await this.#route(request, url);
      } catch {
        response = text(500, "internal server error");
      }
    }
    for (const [k, v] of Object.entries(common)) response.headers.set(k, v);
    return response;
  };

  async #route(request: Request, url: URL): Promise<Response> {
    const parts = url.pathname
      .split("/")
      .filter((p) => p !== "")
      .map(decodeURIComponent);
    const method = request.method;
    const get = method === "GET";
    const getOrHead = get || method === "HEAD";
    const origin = this.externalUrl ?? url.origin;
    if (
      parts.length === 0 ||
      ((parts[0] === "healthz" || parts[0] === "readyz") && parts.length === 1)
    ) {
      return getOrHead
        ? new Response(parts.length === 0 ? "<html>image factory simulator</html>" : null, {
            status: 200,
          })
        : notFound();
    }
    const [head, a, b, c, ...rest] = parts;
    if (head === "schematics") {
      if (method === "POST" && parts.length === 1) return this.#create(await request.text());
      if (get && parts.length === 2 && a) {
        const yaml = this.schematics.get(a);
        return yaml === undefined
          ? text(404, "schematic not found")
          : new Response(yaml, { headers: { "Content-Type": "application/yaml" } });
      }
      return methodOrNotFound(parts.length <= 2);
    }
    if (head === "versions" && parts.length === 1 && get) {
      return jsonAsText(
        url.searchParams.get("broken") === "true" ? this.brokenVersions : this.versions,
      );
    }
    if (
      head === "version" &&
      a &&
      (b === "extensions" || b === "overlays") &&
      c === "official" &&
      parts.length === 4 &&
      get
    ) {
      const tag = this.#version(a);
      if (tag instanceof Response) return tag;
      const catalog = simulatedCatalog(tag);
      return jsonAsText(b === "extensions" ? catalog.extensions : catalog.overlays);
    }
    if (head === "talosctl" && a && getOrHead) {
      const tag = this.#version(a);
      if (tag instanceof Response) return tag;
      const names = supports(tag, "talosctlDownloads")
        ? ["darwin-amd64", "darwin-arm64", "linux-amd64", "linux-arm64", "windows-amd64.exe"].map(
            (n) => `talosctl-${n}`,
          )
        : [];
      if (parts.length === 2) {
        return new Response(
          `${JSON.stringify(names.map((n) => `${origin}/talosctl/${tag}/${n}`))}\n`,
          { headers: { "Content-Type": "application/json" } },
        );
      }
      if (parts.length === 3 && b && names.includes(b))
        return this.#asset(request, `talosctl/${tag}/${b}`, b);
      return notFound();
    }
    if (head === "secureboot" && a === "signing-cert.pem" && parts.length === 2 && get) {
      return new Response(SIM_SIGNING_CERT, {
        headers: { "Content-Type": "application/x-pem-file" },
      });
    }
    if (head === "oci" && a === "cosign" && b === "signing-key.pub" && parts.length === 3 && get) {
      return new Response(SIM_COSIGN_KEY, {
        headers: { "Content-Type": "application/x-pem-file" },
      });
    }
    if (head === "cdn" && a && b && c && rest.length === 0 && getOrHead) {
      return this.#asset(request, `${a}/${b}/${c}`, c);
    }
    if ((head === "image" || head === "pxe") && a && b && c && rest.length === 0) {
      if (!(head === "image" ? getOrHead : get)) return text(405, "Method Not Allowed");
      const yaml = this.schematics.get(a);
      if (yaml === undefined) return text(404, `schematic ID "${a}" not found`);
      const tag = this.#version(b);
      if (tag instanceof Response) return tag;
      const problem = this.#buildProblem(
        parseSchematic(yaml),
        tag,
        head === "pxe" ? `cmdline-${c}` : c,
      );
      if (problem) return problem;
      if (head === "pxe") return this.#pxe(origin, a, tag, c);
      if (this.redirectImages && get) {
        return new Response(null, {
          status: 302,
          headers: { Location: `${origin}/cdn/${a}/${tag}/${c}` },
        });
      }
      return this.#asset(request, `${a}/${tag}/${c}`, c);
    }
    return notFound();
  }

  #create(body: string): Response {
    let s: Schematic;
    try {
      s = parseSchematic(body);
    } catch (error) {
      return text(400, `yaml: ${(error as Error).message}`);
    }
    if (s.owner) return text(400, "owner field is only supported in Enterprise edition");
    const id = this.put(s);
    return new Response(JSON.stringify({ id, schematic: this.schematics.get(id) }), {
      status: 201,
      headers: { "Content-Type": "application/json" },
    });
  }

  /** A malformed version is an unclassified error (500); an unknown one is 404. */
  #version(raw: string): string | Response {
    if (!tryParseTalosVersion(raw)) return text(500, "internal server error");
    const tag = versionTag(raw);
    if (!this.versions.includes(tag)) return text(404, `version ${tag} is not available`);
    return tag;
  }

  #buildProblem(s: Schematic, tag: string, path: string): Response | undefined {
    const profile = parseProfile(path);
    if (!profile) return text(400, PROFILE_ERROR(path));
    if (profile.secureBoot && !this.secureBoot) return text(400, "SecureBoot is not enabled");
    const catalog = offlineCatalog(tag);
    for (const name of s.customization?.systemExtensions?.officialExtensions ?? []) {
      const real = factoryExtensionAlias(name);
      if (!catalog.extensions.some((e) => e.name === real)) {
        return text(400, `official extension "${name}" is not available for Talos version ${tag}`);
      }
    }
    if (s.overlay && (s.overlay.name || s.overlay.image)) {
      if (!supports(tag, "overlays"))
        return text(400, `overlay is not supported for Talos version ${tag}`);
      if (!catalog.overlays.some((o) => o.name === s.overlay?.name)) {
        return text(
          400,
          `overlay "${s.overlay.name ?? ""}" is not available for Talos version ${tag}`,
        );
      }
    }
    if (s.customization?.embeddedMachineConfiguration && !supports(tag, "embeddedConfig")) {
      return text(400, `embedding configuration is not supported for Talos version ${tag}`);
    }
    const enroll = s.customization?.secureboot?.enrollKeys;
    if (enroll && !["off", "manual", "if-safe", "force"].includes(enroll)) {
      return text(400, `invalid secureboot enrollKeys value "${enroll}"`);
    }
    if (profile.kind === "platform-installer" && !supports(tag, "platformInstallers"))
      return text(400, PROFILE_ERROR(path));
    if (profile.compression === "zst" && !supports(tag, "zstd"))
      return text(400, PROFILE_ERROR(path));
    return undefined;
  }

  #pxe(origin: string, id: string, tag: string, path: string): Response {
    const profile = parseProfile(`cmdline-${path}`);
    const arch = profile?.arch ?? "amd64";
    const base = `${origin}/image/${id}/${tag}`;
    const cmdline = `talos.platform=${profile?.platform ?? "metal"} console=ttyS0`;
    const script = profile?.secureBoot
      ? `#!ipxe\n\nimgfree\nkernel ${base}/${path}-uki.efi ${cmdline}\nboot\n`
      : `#!ipxe\n\nimgfree\nkernel ${base}/kernel-${arch} ${cmdline}\ninitrd ${base}/initramfs-${arch}.xz\nboot\n`;
    return new Response(script, { headers: PLAIN });
  }

  #asset(request: Request, seed: string, filename: string): Response {
    const bytes = syntheticBytes(seed, this.assetSize);
    const headers: Record<string, string> = {
      "Content-Type": contentType(filename),
      "Content-Disposition": `attachment; filename="${filename}"`,
      "Accept-Ranges": "bytes",
    };
    let start = 0;
    let end = bytes.length - 1;
    let status = 200;
    const range = request.headers.get("range");
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === "" && m[2] === "")) return text(416, "invalid range");
      if (m[1] === "") start = Math.max(bytes.length - Number(m[2]), 0);
      else {
        start = Number(m[1]);
        if (m[2] !== "") end = Math.min(Number(m[2]), end);
      }
      if (start >= bytes.length || start > end) {
        return new Response("invalid range: failed to overlap\n", {
          status: 416,
          headers: { ...PLAIN, "Content-Range": `bytes */${bytes.length}` },
        });
      }
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${bytes.length}`;
    }
    const slice = bytes.subarray(start, end + 1);
    headers["Content-Length"] = String(slice.length);
    if (request.method === "HEAD") return new Response(null, { status, headers });
    const cut = this.#interruptAfter;
    this.#interruptAfter = undefined;
    return new Response(chunked(slice, cut), { status, headers });
  }
}

/** Creates a simulated factory. */
export function createFactorySimulator(options: FactorySimOptions = {}): FactorySimulator {
  return new FactorySimulator(options);
}

function text(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: PLAIN });
}

function notFound(): Response {
  return text(404, "404 page not found");
}

function methodOrNotFound(known: boolean): Response {
  return known ? text(405, "Method Not Allowed") : notFound();
}

/** JSON without a declared type: Go's sniffing makes it text/plain, as the real factory does. */
function jsonAsText(value: unknown): Response {
  return new Response(`${JSON.stringify(value)}\n`, { headers: PLAIN });
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

interface Profile {
  kind:
    | "kernel"
    | "cmdline"
    | "initramfs"
    | "iso"
    | "uki"
    | "installer"
    | "platform-installer"
    | "disk";
  arch: string;
  platform: string;
  secureBoot: boolean;
  compression?: string;
}

const ARCH = "(amd64|arm64|x86_64|i386)";
const PLATFORM = "(digital-ocean|[a-zA-Z]+)";

/** The factory's asset path grammar. */
function parseProfile(path: string): Profile | undefined {
  const fix = (arch: string) => (arch === "x86_64" || arch === "i386" ? "amd64" : arch);
  let m = new RegExp(`^kernel-${ARCH}$`).exec(path);
  if (m) return { kind: "kernel", arch: fix(m[1] as string), platform: "metal", secureBoot: false };
  m = new RegExp(`^cmdline-${PLATFORM}-${ARCH}(-secureboot)?$`).exec(path);
  if (m)
    return {
      kind: "cmdline",
      platform: m[1] as string,
      arch: fix(m[2] as string),
      secureBoot: !!m[3],
    };
  m = new RegExp(`^initramfs-${ARCH}\\.xz$`).exec(path);
  if (m)
    return { kind: "initramfs", arch: fix(m[1] as string), platform: "metal", secureBoot: false };
  m = new RegExp(`^${PLATFORM}-${ARCH}(-secureboot)?\\.iso$`).exec(path);
  if (m)
    return { kind: "iso", platform: m[1] as string, arch: fix(m[2] as string), secureBoot: !!m[3] };
  m = new RegExp(`^${PLATFORM}-${ARCH}(-secureboot)?-uki\\.efi$`).exec(path);
  if (m)
    return { kind: "uki", platform: m[1] as string, arch: fix(m[2] as string), secureBoot: !!m[3] };
  m = new RegExp(`^installer-${ARCH}(-secureboot)?\\.tar$`).exec(path);
  if (m)
    return { kind: "installer", platform: "metal", arch: fix(m[1] as string), secureBoot: !!m[2] };
  m = new RegExp(`^${PLATFORM}-installer-${ARCH}(-secureboot)?\\.tar$`).exec(path);
  if (m)
    return {
      kind: "platform-installer",
      platform: m[1] as string,
      arch: fix(m[2] as string),
      secureBoot: !!m[3],
    };
  m = new RegExp(
    `^${PLATFORM}-${ARCH}(-secureboot)?\\.(raw|qcow2|vhd|ova)(\\.tar\\.gz|\\.gz|\\.xz|\\.zst)?$`,
  ).exec(path);
  if (m) {
    const p: Profile = {
      kind: "disk",
      platform: m[1] as string,
      arch: fix(m[2] as string),
      secureBoot: !!m[3],
    };
    if (m[5]) p.compression = m[5].slice(1);
    return p;
  }
  return undefined;
}

function contentType(filename: string): string {
  if (filename.endsWith(".efi")) return "application/efi";
  if (filename.endsWith(".iso")) return "application/x-iso9660-image";
  if (filename.endsWith(".xz")) return "application/x-xz";
  if (filename.endsWith(".gz")) return "application/gzip";
  if (filename.endsWith(".qcow2")) return "application/x-qemu-disk";
  if (filename.endsWith(".tar")) return "application/x-tar";
  return "application/octet-stream";
}

/** Deterministic pseudo-random bytes: SHA-256 in counter mode over the seed. */
export function syntheticBytes(seed: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const prefix = new TextEncoder().encode(`${seed}#`);
  for (let block = 0, offset = 0; offset < size; block++, offset += 32) {
    const input = new Uint8Array(prefix.length + 4);
    input.set(prefix);
    new DataView(input.buffer).setUint32(prefix.length, block);
    out.set(sha256(input).subarray(0, Math.min(32, size - offset)), offset);
  }
  return out;
}

/** Streams bytes in 16 KiB chunks; with `cutAfter`, errors after that many bytes. */
function chunked(bytes: Uint8Array, cutAfter?: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const limit = cutAfter === undefined ? bytes.length : Math.min(cutAfter, bytes.length);
      if (offset >= limit) {
        if (cutAfter !== undefined && limit < bytes.length)
          controller.error(new Error("simulated connection drop"));
        else controller.close();
        return;
      }
      const next = Math.min(offset + 16 * 1024, limit);
      controller.enqueue(bytes.slice(offset, next));
      offset = next;
    },
  });
}
