// Reaching one Kubernetes API server: its connection settings and one JSON
// request over HTTPS, authenticated with a client certificate or a bearer
// token. (kubeconfig.ts reads the settings from a kubeconfig.)
import type { ClientRequest, IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { messageOf } from "@taloskit/core";
import { KubeApiError, KubernetesError } from "./errors.js";

/** Connection settings of KubeClient. */
export interface KubeClientOptions {
  /** API server URL, e.g. https://10.5.0.2:6443. */
  server: string;
  /** CA certificate(s), PEM. */
  ca?: string | undefined;
  /** Client certificate and key, PEM. */
  cert?: string | undefined;
  key?: string | undefined;
  token?: string | undefined;
  /** Verify the server certificate against this name. */
  serverName?: string | undefined;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

export interface KubeCallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** The API server's URL, which must be https. */
export function serverUrl(server: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch (error) {
    throw new KubernetesError(
      "KUBERNETES_INVALID_ARGUMENT",
      `Kubernetes server ${JSON.stringify(server)} is not a URL`,
      { cause: error },
    );
  }
  if (url.protocol !== "https:") {
    throw new KubernetesError(
      "KUBERNETES_INVALID_ARGUMENT",
      `Kubernetes server ${server} is not an https URL`,
    );
  }
  return url;
}

/** The text of an answer as JSON, or as text when it is not JSON (plain-text error bodies). */
function bodyOf(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The node:https options of one request. */
function httpsOptions(
  server: URL,
  settings: KubeClientOptions,
  method: string,
  path: string,
  data: Buffer | undefined,
  options: KubeCallOptions & { contentType?: string },
  timeoutMs: number,
): RequestOptions {
  return {
    protocol: "https:",
    hostname: server.hostname,
    port: server.port || 443,
    path: `${server.pathname.replace(/\/+$/, "")}${path}`,
    method,
    ca: settings.ca,
    cert: settings.cert,
    key: settings.key,
    servername: settings.serverName,
    headers: {
      accept: "application/json",
      ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}),
      ...(data
        ? {
            "content-type": options.contentType ?? "application/json",
            "content-length": data.length,
          }
        : {}),
    },
    signal: options.signal,
    timeout: timeoutMs,
    agent: false,
  };
}

/** An answer read to its end: its body as JSON (or text), or KubeApiError for an HTTP error. */
function readAnswer(
  res: IncomingMessage,
  what: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("error", (error) => reject(unreachable(what, error)));
    res.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const parsed = bodyOf(text);
      const status = res.statusCode ?? 0;
      if (status < 400) return resolve({ status, body: parsed });
      const msg = (parsed as { message?: string } | undefined)?.message ?? text.slice(0, 200);
      reject(new KubeApiError(status, `${what}: HTTP ${status}: ${msg}`, parsed));
    });
  });
}

/**
 * One API request; JSON in and out. Rejects with KubeApiError for HTTP errors,
 * KUBERNETES_TIMEOUT when no answer comes within the timeout, and
 * KUBERNETES_UNREACHABLE when the connection fails (the signal's abort included).
 */
export function kubeRequest(
  server: URL,
  settings: KubeClientOptions,
  method: string,
  path: string,
  body?: unknown,
  options: KubeCallOptions & { contentType?: string } = {},
): Promise<{ status: number; body: unknown }> {
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs ?? 30_000;
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const what = `${method} ${path}`;
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => reject(unreachable(what, error));
    let req: ClientRequest;
    try {
      req = httpsRequest(
        httpsOptions(server, settings, method, path, data, options, timeoutMs),
        (res) => readAnswer(res, what).then(resolve, reject),
      );
    } catch (error) {
      // Settings node:https refuses at once (a malformed key, say).
      return fail(error);
    }
    req.on("timeout", () =>
      req.destroy(
        new KubernetesError("KUBERNETES_TIMEOUT", `${what}: no answer within ${timeoutMs} ms`),
      ),
    );
    req.on("error", fail);
    req.end(data);
  });
}

function unreachable(what: string, error: unknown): KubernetesError {
  if (error instanceof KubernetesError) return error;
  return new KubernetesError("KUBERNETES_UNREACHABLE", `${what}: ${messageOf(error)}`, {
    cause: error,
  });
}
