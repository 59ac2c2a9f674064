// The Image Factory HTTP client. Portable: it uses only fetch, streams and
// AbortSignal, so it runs in Node, Deno and browsers; pass `fetch` to use
// another implementation and `dispatcher` (an undici Dispatcher) in Node for
// proxies or connection pools.
import { type BackoffPolicy, retry } from "@taloskit/core";
import { z } from "zod";
import { type FactoryCache, MemoryCache } from "./cache.js";
import {
  type Catalog,
  type ExtensionInfo,
  ExtensionInfoSchema,
  type OverlayInfo,
  OverlayInfoSchema,
} from "./catalog.js";
import {
  DownloadSizeError,
  FactoryError,
  type FactoryErrorCode,
  InvalidSchematicError,
  NotFoundError,
} from "./errors.js";
import {
  canonicalSchematicYaml,
  parseSchematic,
  type Schematic,
  type SchematicInput,
} from "./schematic.js";
import {
  type AssetKind,
  type AssetTarget,
  type AssetUrls,
  assetPaths,
  assetUrls,
  defaultPxeUrl,
  imageUrl,
  installerImage,
  pxeUrl,
} from "./urls.js";
import { supports, talosTag } from "./versions.js";

/** Structural stand-in for undici's Dispatcher, so the types need no undici install. */
export interface DispatcherLike {
  dispatch(...args: never[]): unknown;
}

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface FactoryClientOptions {
  /** Factory URL; `https://factory.talos.dev` by default. */
  baseUrl?: string;
  /** PXE URL; `https://pxe.factory.talos.dev` for the public factory, else the base URL. */
  pxeBaseUrl?: string;
  /** Extra headers on every request (for example `Authorization` of an Enterprise factory). */
  headers?: Record<string, string>;
  /** An undici Dispatcher (Agent, ProxyAgent, Pool) passed to fetch in Node. */
  dispatcher?: DispatcherLike;
  /** fetch to use instead of the global one. */
  fetch?: FetchLike;
  /** Per-request timeout in ms (30 s by default). Downloads use it as an idle timeout between chunks. */
  timeoutMs?: number;
  /** Extra attempts for idempotent requests on network errors and 5xx (3 by default). */
  retries?: number;
  /**
   * Backoff between attempts: exponential from `baseDelayMs` (250 ms by default),
   * each sleep at most `maxDelayMs` (5 s by default), with full jitter.
   */
  backoff?: Partial<Pick<BackoffPolicy, "baseDelayMs" | "maxDelayMs">>;
  /** Called before each backoff sleep with the attempt that failed (1-based), the sleep and why. */
  onRetry?: (attempt: number, delayMs: number, error: FactoryError) => void;
  /** Cache for schematic creation and catalogs; `false` disables it. */
  cache?: FactoryCache | false;
  /** How long catalogs stay cached, in ms (10 minutes by default). */
  catalogTtlMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface CreatedSchematic {
  id: string;
  /** The canonical YAML the factory stored. */
  yaml: string;
  schematic: Schematic;
}

export interface DownloadProgress {
  /** Bytes received so far, counting a resumed offset. */
  received: number;
  /** Total size when the server said it. */
  total: number | undefined;
}

export interface DownloadOptions extends CallOptions {
  /** Resume from this byte (sends a Range request). */
  offset?: number;
  /** Expected total size; a different size fails with DOWNLOAD_SIZE_MISMATCH. */
  expectedSize?: number;
  onProgress?: (progress: DownloadProgress) => void;
  /** Called once the answer arrives, before any byte is written: says whether the Range was honoured. */
  onStart?: (info: { resumed: boolean; total: number | undefined }) => void | Promise<void>;
}

export interface DownloadResult {
  url: string;
  /** The size of the whole asset (offset included). */
  size: number;
  /** True when the server honoured the Range request and the bytes continue from `offset`. */
  resumed: boolean;
  contentType: string | undefined;
}

/** Where downloaded bytes go: a WritableStream, or a function called per chunk (awaited). */
export type DownloadSink =
  | WritableStream<Uint8Array>
  | ((chunk: Uint8Array) => void | Promise<void>);

const DEFAULT_BASE = "https://factory.talos.dev";
const SCHEMATIC_ID = z.string().regex(/^[0-9a-f]{64}$/, "expected a 64-digit hex schematic ID");
const CreateResponse = z.object({ id: SCHEMATIC_ID, schematic: z.string().optional() });
const StringList = z.array(z.string());

/** Typed client of one Image Factory. */
export class FactoryClient {
  readonly baseUrl: string;
  readonly pxeBaseUrl: string;
  readonly #fetch: FetchLike;
  readonly #headers: Record<string, string>;
  readonly #dispatcher: DispatcherLike | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoff: Pick<BackoffPolicy, "baseDelayMs" | "maxDelayMs">;
  readonly #onRetry: FactoryClientOptions["onRetry"];
  readonly #cache: FactoryCache | undefined;
  readonly #catalogTtl: number;

  constructor(options: FactoryClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE).replace(/\/+$/, "");
    try {
      new URL(this.baseUrl);
    } catch {
      throw new FactoryError("INVALID_ARGUMENT", `baseUrl "${options.baseUrl}" is not a URL`);
    }
    this.pxeBaseUrl = (options.pxeBaseUrl ?? defaultPxeUrl(this.baseUrl)).replace(/\/+$/, "");
    if (typeof (options.fetch ?? globalThis.fetch) !== "function")
      throw new FactoryError("INVALID_ARGUMENT", "no fetch available: pass options.fetch");
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#headers = { ...options.headers };
    this.#dispatcher = options.dispatcher;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 3;
    this.#backoff = { baseDelayMs: 250, maxDelayMs: 5_000, ...options.backoff };
    this.#onRetry = options.onRetry;
    this.#cache = options.cache === false ? undefined : (options.cache ?? new MemoryCache());
    this.#catalogTtl = options.catalogTtlMs ?? 10 * 60_000;
  }

  // --- Schematics ---

  /**
   * Stores a schematic and returns its ID and canonical text. Validated
   * locally first; cached by content, since the same text always has the same ID.
   */
  async createSchematic(
    input: Schematic | SchematicInput | string,
    options: CallOptions = {},
  ): Promise<CreatedSchematic> {
    const yaml = canonicalSchematicYaml(input);
    const key = `schematic:${this.baseUrl}:${yaml}`;
    const cached = this.#cache?.get(key) as CreatedSchematic | undefined;
    if (cached) return cached;
    const response = await this.#request("POST", "/schematics", options, {
      body: yaml,
      headers: { "Content-Type": "application/yaml" },
      expect: [200, 201],
    });
    const body = await this.#json(response, CreateResponse);
    const stored = body.schematic ?? (await this.getSchematicYaml(body.id, options));
    const result: CreatedSchematic = {
      id: body.id,
      yaml: stored,
      schematic: parseSchematic(stored),
    };
    this.#cache?.set(key, result, Number.POSITIVE_INFINITY);
    return result;
  }

  /** The canonical YAML the factory holds for an ID (NotFoundError if it has none). */
  async getSchematicYaml(id: string, options: CallOptions = {}): Promise<string> {
    const parsed = SCHEMATIC_ID.safeParse(id);
    if (!parsed.success)
      throw new FactoryError("INVALID_ARGUMENT", `schematic ID "${id}" is not 64 hex digits`);
    const response = await this.#request("GET", `/schematics/${id}`, options);
    return response.text();
  }

  /** A stored schematic, parsed. */
  async getSchematic(id: string, options: CallOptions = {}): Promise<Schematic> {
    const yaml = await this.getSchematicYaml(id, options);
    try {
      return parseSchematic(yaml);
    } catch (cause) {
      throw new FactoryError(
        "FACTORY_BAD_RESPONSE",
        `factory returned a schematic we cannot read for ${id}`,
        { cause },
      );
    }
  }

  // --- Versions and catalogs ---

  /** Talos versions the factory can build, ascending. */
  versions(options: CallOptions = {}): Promise<string[]> {
    return this.#cachedJson("/versions", StringList, options);
  }

  /** Versions the factory marks as broken. */
  brokenVersions(options: CallOptions = {}): Promise<string[]> {
    return this.#cachedJson("/versions?broken=true", StringList, options);
  }

  /** Official extensions of a Talos version (NotFoundError for an unknown version). */
  async extensions(version: string, options: CallOptions = {}): Promise<ExtensionInfo[]> {
    return this.#cachedJson(
      `/version/${talosTag(version)}/extensions/official`,
      z.array(ExtensionInfoSchema),
      options,
    );
  }

  /** Official overlays of a Talos version (empty before 1.7). */
  async overlays(version: string, options: CallOptions = {}): Promise<OverlayInfo[]> {
    return this.#cachedJson(
      `/version/${talosTag(version)}/overlays/official`,
      z.array(OverlayInfoSchema),
      options,
    );
  }

  /** Extensions and overlays of a version together, for validateSchematic. */
  async catalog(version: string, options: CallOptions = {}): Promise<Catalog> {
    const [extensions, overlays] = await Promise.all([
      this.extensions(version, options),
      this.overlays(version, options),
    ]);
    return { version: talosTag(version), extensions, overlays };
  }

  /** talosctl download URLs for a version (empty before 1.11). */
  async talosctl(version: string, options: CallOptions = {}): Promise<string[]> {
    return this.#cachedJson(`/talosctl/${talosTag(version)}`, StringList, options);
  }

  /** PEM certificate the factory signs SecureBoot assets with. */
  async secureBootSigningCert(options: CallOptions = {}): Promise<string> {
    return (await this.#request("GET", "/secureboot/signing-cert.pem", options)).text();
  }

  /** PEM public key for verifying installer images with cosign. */
  async cosignSigningKey(options: CallOptions = {}): Promise<string> {
    return (await this.#request("GET", "/oci/cosign/signing-key.pub", options)).text();
  }

  // --- URLs ---

  /** URL of one asset kind for a target. */
  assetUrl(kind: AssetKind, target: AssetTarget): string {
    return imageUrl(this.baseUrl, target, assetPaths[kind](target));
  }

  /** Every URL the factory offers for a target. */
  urls(target: AssetTarget): AssetUrls {
    return assetUrls(this.baseUrl, this.pxeBaseUrl, target);
  }

  pxeUrl(target: AssetTarget): string {
    return pxeUrl(this.pxeBaseUrl, target);
  }

  installerImage(target: Omit<AssetTarget, "arch">): string {
    return installerImage(this.baseUrl, target);
  }

  /** Checks a version's support for a talosctl download before asking. */
  talosctlUrl(
    version: string,
    os: "linux" | "darwin" | "windows" | "freebsd",
    arch: "amd64" | "arm64",
  ): string {
    const tag = talosTag(version);
    if (!supports(tag, "talosctlDownloads"))
      throw new FactoryError(
        "FACTORY_UNSUPPORTED",
        `the factory serves talosctl for Talos 1.11 and later, not ${tag}`,
      );
    return `${this.baseUrl}/talosctl/${tag}/talosctl-${os}-${arch}${os === "windows" ? ".exe" : ""}`;
  }

  // --- Downloads ---

  /**
   * Streams an asset into `sink`. Follows redirects, resumes from `offset`
   * with a Range request, reports progress, and checks the final size.
   * `timeoutMs` is the longest wait for headers or between two chunks (the
   * factory may build an asset for minutes before answering: raise it).
   */
  async download(
    url: string,
    sink: DownloadSink,
    options: DownloadOptions = {},
  ): Promise<DownloadResult> {
    const offset = options.offset ?? 0;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    const guard = new Guard(options.signal, timeoutMs);
    try {
      const response = await this.#fetchOnce(url, "GET", headers, undefined, guard);
      if (response.status === 416 && offset > 0 && options.expectedSize === offset) {
        return {
          url,
          size: offset,
          resumed: true,
          contentType: response.headers.get("content-type") ?? undefined,
        };
      }
      if (!response.ok) throw await errorFromResponse(response, url);
      const resumed = response.status === 206;
      const start = resumed ? offset : 0;
      const total = totalSize(response, start);
      if (
        options.expectedSize !== undefined &&
        total !== undefined &&
        total !== options.expectedSize
      ) {
        throw new DownloadSizeError(options.expectedSize, total, url);
      }
      await options.onStart?.({ resumed, total });
      let received = start;
      options.onProgress?.({ received, total });
      const writer = typeof sink === "function" ? undefined : sink.getWriter();
      const reader = response.body?.getReader();
      try {
        while (reader) {
          guard.arm();
          const { done, value } = await raceAbort(reader.read(), guard.signal);
          if (done) break;
          if (writer) await writer.write(value);
          else await (sink as (chunk: Uint8Array) => void | Promise<void>)(value);
          received += value.byteLength;
          options.onProgress?.({ received, total });
        }
        if (writer) await writer.close();
      } catch (error) {
        await reader?.cancel().catch(() => {});
        await writer?.abort(error).catch(() => {});
        throw error;
      }
      const expected = options.expectedSize ?? total;
      if (expected !== undefined && received !== expected)
        throw new DownloadSizeError(expected, received, url);
      return {
        url,
        size: received,
        resumed,
        contentType: response.headers.get("content-type") ?? undefined,
      };
    } catch (error) {
      throw guard.translate(error, url);
    } finally {
      guard.dispose();
    }
  }

  /** HEAD an asset: its size and type (this makes the factory build it). */
  async head(
    url: string,
    options: CallOptions = {},
  ): Promise<{ size: number | undefined; contentType: string | undefined }> {
    const response = await this.#request("HEAD", url, options);
    const length = response.headers.get("content-length");
    return {
      size: length === null ? undefined : Number(length),
      contentType: response.headers.get("content-type") ?? undefined,
    };
  }

  // --- Plumbing ---

  async #cachedJson<T>(path: string, schema: z.ZodType<T>, options: CallOptions): Promise<T> {
    const key = `json:${this.baseUrl}${path}`;
    const hit = this.#cache?.get(key) as T | undefined;
    if (hit !== undefined) return hit;
    const response = await this.#request("GET", path, options);
    const value = await this.#json(response, schema);
    this.#cache?.set(key, value, this.#catalogTtl);
    return value;
  }

  /** Reads JSON whatever the content type says (the factory sends some lists as text/plain). */
  async #json<T>(response: Response, schema: z.ZodType<T>): Promise<T> {
    const text = await response.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw new FactoryError(
        "FACTORY_BAD_RESPONSE",
        `factory answered ${response.url || "a request"} with text that is not JSON: ${text.slice(0, 120)}`,
        { cause, status: response.status },
      );
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const where = parsed.error.issues
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ");
      throw new FactoryError("FACTORY_BAD_RESPONSE", `unexpected response shape: ${where}`, {
        status: response.status,
      });
    }
    return parsed.data;
  }

  async #request(
    method: "GET" | "HEAD" | "POST",
    pathOrUrl: string,
    options: CallOptions,
    extra: { body?: string; headers?: Record<string, string>; expect?: number[] } = {},
  ): Promise<Response> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
    const idempotent = method !== "POST";
    return retry<Response, FactoryError>(
      async () => {
        const guard = new Guard(options.signal, options.timeoutMs ?? this.#timeoutMs);
        guard.arm();
        try {
          const response = await this.#fetchOnce(
            url,
            method,
            extra.headers ?? {},
            extra.body,
            guard,
          );
          if (
            response.ok &&
            (extra.expect === undefined || extra.expect.includes(response.status))
          ) {
            // Buffer the body under the same timeout so a stalled body cannot hang the caller.
            const body =
              method === "HEAD" ? null : await raceAbort(response.arrayBuffer(), guard.signal);
            return new Response(body, { status: response.status, headers: response.headers });
          }
          throw response.ok
            ? new FactoryError(
                "FACTORY_BAD_RESPONSE",
                `unexpected status ${response.status} from ${method} ${url}`,
                { status: response.status, url },
              )
            : await errorFromResponse(response, url);
        } catch (error) {
          throw guard.translate(error, url);
        } finally {
          guard.dispose();
        }
      },
      {
        policy: { attempts: idempotent ? this.#retries + 1 : 1, ...this.#backoff },
        shouldRetry: (error) =>
          idempotent && (error.code === "FACTORY_NETWORK" || error.code === "FACTORY_SERVER_ERROR"),
        signal: options.signal,
        onRetry: this.#onRetry,
        aborted: (_attempt, last) =>
          new FactoryError("FACTORY_ABORTED", `request to ${url} was aborted`, {
            cause: options.signal?.reason ?? last,
            url,
          }),
      },
    );
  }

  #fetchOnce(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    guard: Guard,
  ): Promise<Response> {
    const init: Record<string, unknown> = {
      method,
      headers: { ...this.#headers, ...headers },
      signal: guard.signal,
      redirect: "follow",
    };
    if (body !== undefined) init.body = body;
    if (this.#dispatcher) init.dispatcher = this.#dispatcher;
    return raceAbort(this.#fetch(url, init as RequestInit), guard.signal);
  }
}

/** Caller's signal plus a resettable timeout, telling apart which one fired. */
class Guard {
  readonly #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;
  readonly #onAbort = () => this.#controller.abort(this.caller?.reason);
  constructor(
    readonly caller: AbortSignal | undefined,
    readonly timeoutMs: number,
  ) {
    if (caller?.aborted) this.#controller.abort(caller.reason);
    else caller?.addEventListener("abort", this.#onAbort, { once: true });
  }
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.timeoutMs > 0 && Number.isFinite(this.timeoutMs)) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.#controller.abort(new Error("timeout"));
      }, this.timeoutMs);
    }
  }
  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.caller?.removeEventListener("abort", this.#onAbort);
  }
  translate(error: unknown, url: string): FactoryError {
    if (error instanceof FactoryError) return error;
    if (this.#timedOut)
      return new FactoryError(
        "FACTORY_TIMEOUT",
        `no answer from ${url} within ${this.timeoutMs} ms`,
        { cause: error, url },
      );
    if (this.caller?.aborted)
      return new FactoryError("FACTORY_ABORTED", `request to ${url} was aborted`, {
        cause: error,
        url,
      });
    return new FactoryError(
      "FACTORY_NETWORK",
      `network error talking to ${url}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, url },
    );
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function totalSize(response: Response, start: number): number | undefined {
  const range = response.headers.get("content-range");
  const m = range ? /\/(\d+)$/.exec(range) : null;
  if (m) return Number(m[1]);
  const length = response.headers.get("content-length");
  return length === null ? undefined : start + Number(length);
}

/** Maps a factory error answer (plain text) to a typed error. */
async function errorFromResponse(response: Response, url: string): Promise<FactoryError> {
  const text = (await response.text().catch(() => "")).trim().slice(0, 8192);
  const status = response.status;
  const opts = { status, url, serverMessage: text };
  const say = (what: string) => `${what} (HTTP ${status} from ${url})${text ? `: ${text}` : ""}`;
  if (status === 400)
    return new InvalidSchematicError(
      "FACTORY_INVALID_SCHEMATIC",
      say("factory refused the request"),
      opts,
    );
  if (status === 404) return new NotFoundError("FACTORY_NOT_FOUND", say("not found"), opts);
  let code: FactoryErrorCode = "FACTORY_HTTP_ERROR";
  if (status === 401 || status === 403) code = "FACTORY_UNAUTHORIZED";
  else if (status === 402) code = "FACTORY_ENTERPRISE_ONLY";
  else if (status >= 500) code = "FACTORY_SERVER_ERROR";
  return new FactoryError(code, say("factory error"), opts);
}
