// Reading a kubeconfig: the connection settings of its current or named
// context (server, CA, client certificate and key, or token).
import { parseYaml } from "@taloskit/core";
import { z } from "zod";
import type { KubeClientOptions } from "./connection.js";
import { KubernetesError } from "./errors.js";

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
    raw = parseYaml(text, { what: "kubeconfig" });
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
