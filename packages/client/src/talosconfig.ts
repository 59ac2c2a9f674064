// Loading and writing talosconfig files: where they live, what they hold,
// which context is in use. Validation is done with zod and every error names the file and
// the field at fault.
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { parseYaml, YamlError } from "@taloskit/core";
import { stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { decodePemField } from "./credentials.js";
import { TalosconfigError } from "./errors.js";

const stringList = z.array(z.string().min(1, "must not be empty"));

const contextSchema = z.looseObject({
  endpoints: stringList.nullish(),
  nodes: stringList.nullish(),
  ca: z.string().nullish(),
  crt: z.string().nullish(),
  key: z.string().nullish(),
  cluster: z.string().nullish(),
  target: z.string().nullish(),
  "proxy-url": z.string().nullish(),
  auth: z
    .looseObject({
      basic: z.object({ username: z.string(), password: z.string() }).nullish(),
      siderov1: z.object({ identity: z.string() }).nullish(),
    })
    .nullish(),
});

const talosconfigSchema = z.looseObject({
  context: z.string().nullish(),
  contexts: z.record(z.string(), contextSchema.nullable()).nullish(),
});

/** A talosconfig context as found in the file (base64 fields still encoded). */
export type TalosconfigContext = z.infer<typeof contextSchema>;
/** A parsed talosconfig file. */
export type Talosconfig = z.infer<typeof talosconfigSchema>;

/** A context ready to connect with: PEM fields decoded, endpoints and nodes resolved. */
export interface ResolvedContext {
  /** Name of the context in use. */
  name: string;
  /** Path of the file it came from, when loaded from a file. */
  path: string | undefined;
  endpoints: string[];
  nodes: string[];
  /** CA bundle (PEM), one or more certificates. */
  ca: string | undefined;
  /** Client certificate (PEM). */
  cert: string | undefined;
  /** Client key (PEM, label as in the file). */
  key: string | undefined;
  /** Cluster name sent as `context` metadata (for proxies), when set. */
  cluster: string | undefined;
}

/** Options selecting a talosconfig and overriding parts of its context. */
export interface TalosconfigOptions {
  /** File path; default: $TALOSCONFIG, then $TALOS_HOME/config, then ~/.talos/config. */
  path?: string | undefined;
  /** Context name; default: the file's current `context`. */
  context?: string | undefined;
  /** Replaces the context's endpoints. */
  endpoints?: string[] | undefined;
  /** Replaces the context's default nodes. */
  nodes?: string[] | undefined;
  /** Environment to read TALOSCONFIG/TALOS_HOME from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Candidate talosconfig paths in the order Talos looks for them. */
export function talosconfigPaths(
  env: Record<string, string | undefined> = process.env,
  home: string = homedir(),
): string[] {
  const paths: string[] = [];
  if (env.TALOSCONFIG) paths.push(env.TALOSCONFIG);
  if (env.TALOS_HOME && isAbsolute(env.TALOS_HOME)) paths.push(join(env.TALOS_HOME, "config"));
  paths.push(join(home, ".talos", "config"));
  paths.push("/var/run/secrets/talos.dev/config");
  return paths;
}

/** Largest talosconfig read: a few contexts of keys and certificates fit in far less. */
const TALOSCONFIG_MAX_BYTES = 4 * 1024 * 1024;

/** Parses and validates talosconfig YAML text. */
export function parseTalosconfig(text: string, path?: string): Talosconfig {
  const where = path ? ` in ${path}` : "";
  let raw: unknown;
  try {
    raw = parseYaml(text, { what: path ?? "talosconfig", maxBytes: TALOSCONFIG_MAX_BYTES });
  } catch (cause) {
    // The YAML error names the place only: a talosconfig holds a private key.
    const why = cause instanceof YamlError ? cause.message.slice(cause.what.length + 2) : "";
    throw new TalosconfigError(
      "TALOSCONFIG_INVALID",
      `talosconfig${where} is not valid YAML${why ? ` (${why})` : ""}`,
      { path, cause: cause instanceof YamlError ? cause : undefined },
    );
  }
  if (raw === null || raw === undefined) {
    throw new TalosconfigError("TALOSCONFIG_INVALID", `talosconfig${where} is empty`, { path });
  }
  const result = talosconfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.map(String).join(".") || "(root)";
    throw new TalosconfigError(
      "TALOSCONFIG_INVALID",
      `talosconfig${where}: field "${field}" ${issue?.message ?? "is invalid"}`,
      { path, cause: result.error },
    );
  }
  return result.data;
}

/** Reads a talosconfig file, trying the default locations when no path is given. */
export async function loadTalosconfig(
  options: Pick<TalosconfigOptions, "path" | "env"> = {},
): Promise<{ config: Talosconfig; path: string }> {
  const candidates = options.path ? [options.path] : talosconfigPaths(options.env);
  for (const path of candidates) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if ((code === "ENOENT" || code === "ENOTDIR") && !options.path) continue;
      throw new TalosconfigError(
        code === "ENOENT" || code === "ENOTDIR" ? "TALOSCONFIG_NOT_FOUND" : "TALOSCONFIG_INVALID",
        code === "ENOENT" || code === "ENOTDIR"
          ? `talosconfig not found at ${path}`
          : `cannot read talosconfig ${path} (${code ?? "error"})`,
        { path, cause },
      );
    }
    return { config: parseTalosconfig(text, path), path };
  }
  throw new TalosconfigError(
    "TALOSCONFIG_NOT_FOUND",
    `no talosconfig found (looked at ${candidates.join(", ")}); set TALOSCONFIG or pass a path`,
  );
}

/** Picks a context from a parsed talosconfig and decodes its credentials. */
export function resolveContext(
  config: Talosconfig,
  options: Omit<TalosconfigOptions, "path" | "env"> & { path?: string | undefined } = {},
): ResolvedContext {
  const path = options.path;
  const where = path ? ` in ${path}` : "";
  const contexts = config.contexts ?? {};
  const name = options.context ?? config.context ?? undefined;
  if (!name) {
    throw new TalosconfigError(
      "TALOSCONFIG_INVALID",
      `talosconfig${where} names no current "context"; pass a context name`,
      { path },
    );
  }
  const ctx = contexts[name];
  if (!ctx) {
    const known = Object.keys(contexts);
    throw new TalosconfigError(
      "TALOSCONFIG_UNKNOWN_CONTEXT",
      `context "${name}" not found${where}${known.length ? ` (known: ${known.join(", ")})` : " (it has no contexts)"}`,
      { path },
    );
  }
  const fieldWhere = ` of context "${name}"${where}`;
  const endpoints = options.endpoints?.length
    ? options.endpoints
    : [...(ctx.endpoints ?? []), ...(ctx.target ? [ctx.target] : [])];
  return {
    name,
    path,
    endpoints,
    nodes: options.nodes?.length ? options.nodes : (ctx.nodes ?? []),
    ca: ctx.ca ? decodePemField(ctx.ca, "ca", fieldWhere) : undefined,
    cert: ctx.crt ? decodePemField(ctx.crt, "crt", fieldWhere) : undefined,
    key: ctx.key ? decodePemField(ctx.key, "key", fieldWhere) : undefined,
    cluster: ctx.cluster ?? undefined,
  };
}

/** The YAML text of a talosconfig, as Talos writes it: `context`, then `contexts`, then the rest. */
export function stringifyTalosconfig(config: Talosconfig): string {
  const { context, contexts, ...rest } = config;
  return stringifyYaml(
    { ...(context ? { context } : {}), contexts: contexts ?? {}, ...rest },
    { lineWidth: 0 },
  );
}

/**
 * Writes a talosconfig (it holds a client key: the file is readable by its
 * owner only), replacing the file in one step and creating its directory.
 */
export async function writeTalosconfig(path: string, config: Talosconfig): Promise<void> {
  const part = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(part, stringifyTalosconfig(config), { mode: 0o600 });
    await chmod(part, 0o600);
    await rename(part, path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new TalosconfigError(
      "TALOSCONFIG_INVALID",
      `cannot write talosconfig ${path} (${code ?? "error"})`,
      {
        path,
        cause,
      },
    );
  }
}
