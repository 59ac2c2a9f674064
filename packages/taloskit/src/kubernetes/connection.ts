// Reaching one Kubernetes API server: the connection settings (given, or read
// from a kubeconfig's current or named context) and one JSON request over
// HTTPS, authenticated with a client certificate or a bearer token.
import { request as httpsRequest } from "node:https";
import { messageOf } from "@taloskit/core";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
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

const NamedCluster = z.object({
  name: z.string(),
  cluster: z.object({
    server: z.string().url(),
    "certificate-authority-data": z.string().optional(),
    "tls-server-name": z.string().optional(),
    "insecure-skip-tls-verify": z.boolean().optional(),
  }),
});
const NamedUser = z.object({
  name: z.string(),
  user: z
    .object({
      "client-certificate-data": z.string().optional(),
      "client-key-data": z.string().optional(),
      token: z.string().optional(),
    })
    .nullable()
    .optional(),
});
const NamedContext = z.object({
  name: z.string(),
  context: z.object({ cluster: z.string(), user: z.string() }),
});
const Kubeconfig = z.object({
  clusters: z.array(NamedCluster).min(1),
  users: z.array(NamedUser).default([]),
  contexts: z.array(NamedContext).min(1),
  "current-context": z.string().optional(),
});

function b64(text: string | undefined): string | undefined {
  return text ? Buffer.from(text, "base64").toString("utf8") : undefined;
}

function invalid(message: string, cause?: unknown): KubernetesError {
  return new KubernetesError("KUBERNETES_INVALID_ARGUMENT", message, { cause });
}

/** The connection settings of a kubeconfig (YAML text): its current or named context. */
export function kubeconfigOptions(
  text: string,
  options: { context?: string; timeoutMs?: number } = {},
): KubeClientOptions {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw invalid("the kubeconfig is not valid YAML", error);
  }
  const parsed = Kubeconfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(
      `invalid kubeconfig: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const cfg = parsed.data;
  const name = options.context ?? cfg["current-context"] ?? cfg.contexts[0]?.name;
  const ctx = cfg.contexts.find((c) => c.name === name);
  if (!ctx) throw invalid(`kubeconfig context "${name}" not found`);
  const cluster = cfg.clusters.find((c) => c.name === ctx.context.cluster);
  if (!cluster) {
    throw invalid(`kubeconfig cluster "${ctx.context.cluster}" (of context "${name}") not found`);
  }
  const user = cfg.users.find((u) => u.name === ctx.context.user)?.user ?? {};
  return {
    server: cluster.cluster.server,
    ca: b64(cluster.cluster["certificate-authority-data"]),
    serverName: cluster.cluster["tls-server-name"],
    cert: b64(user["client-certificate-data"]),
    key: b64(user["client-key-data"]),
    token: user.token,
    timeoutMs: options.timeoutMs,
  };
}

/** The API server's URL, which must be https. */
export function serverUrl(server: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch (error) {
    throw invalid(`Kubernetes server ${JSON.stringify(server)} is not a URL`, error);
  }
  if (url.protocol !== "https:") {
    throw invalid(`Kubernetes server ${server} is not an https URL`);
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
    const req = httpsRequest(
      {
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
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (error) => reject(unreachable(what, error)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const parsed = bodyOf(text);
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            const msg = (parsed as { message?: string } | undefined)?.message ?? text.slice(0, 200);
            reject(new KubeApiError(status, `${what}: HTTP ${status}: ${msg}`));
          } else {
            resolve({ status, body: parsed });
          }
        });
      },
    );
    req.on("timeout", () =>
      req.destroy(
        new KubernetesError("KUBERNETES_TIMEOUT", `${what}: no answer within ${timeoutMs} ms`),
      ),
    );
    req.on("error", (error) => reject(unreachable(what, error)));
    req.end(data);
  });
}

function unreachable(what: string, error: unknown): KubernetesError {
  if (error instanceof KubernetesError) return error;
  return new KubernetesError("KUBERNETES_UNREACHABLE", `${what}: ${messageOf(error)}`, {
    cause: error,
  });
}
