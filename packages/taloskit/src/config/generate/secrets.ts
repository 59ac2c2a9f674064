// The secrets bundle of a cluster, made as Talos's generator makes it, and read and
// written in the file format of `talosctl gen secrets`.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { ConfigPatchError } from "../errors.js";
import { type GenerateVersion, generateVersion } from "./versions.js";
import { clientCertificate, keyFromPem, type PemCertAndKey, selfSignedCA } from "./x509.js";

const HOUR = 3_600_000;
/** Talos's CA lifetime: 87600 hours (ten years). */
export const CA_VALIDITY_MS = 87_600 * HOUR;
/** Talos's client certificate lifetime in a generated talosconfig: 365 days. */
export const CLIENT_VALIDITY_MS = 365 * 24 * HOUR;

/** Every secret of a cluster: tokens, encryption keys and CAs. */
export interface SecretsBundle {
  cluster: { id: string; secret: string };
  /** Kubernetes bootstrap token (`abcdef.0123456789abcdef`) and the etcd encryption key. */
  secrets: {
    bootstrapToken: string;
    secretboxEncryptionSecret?: string;
    aescbcEncryptionSecret?: string;
  };
  /** The token machines present to trustd (the config's `machine.token`). */
  trustdToken: string;
  certs: {
    /** etcd CA (ECDSA P-256, Organization `etcd`). */
    etcd: PemCertAndKey;
    /** Kubernetes CA (ECDSA P-256, Organization `kubernetes`). */
    k8s: PemCertAndKey;
    /** Kubernetes front-proxy CA (ECDSA P-256, empty subject). */
    k8sAggregator: PemCertAndKey;
    /** Key that signs service account tokens (RSA 4096 by default). */
    k8sServiceAccount: { key: string };
    /** Talos API CA (Ed25519, Organization `talos`). */
    os: PemCertAndKey;
  };
}

/** Options of {@link generateSecrets}. */
export interface GenerateSecretsOptions {
  /** Talos version the bundle is for (`1.12`, `v1.13.2`, ...); default the newest supported. */
  talosVersion?: string;
  /** Start of the certificates' validity; default now. */
  now?: Date;
  /** `ecdsa` makes a P-256 service account key (fast), as Talos's WithECDSAServiceAccountKey does. */
  serviceAccountKey?: "rsa" | "ecdsa";
}

const TOKEN_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Random lowercase alphanumerics, without modulo bias (bytes from 252 up are skipped). */
function tokenPart(n: number): string {
  let out = "";
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 252 && out.length < n) out += TOKEN_CHARS[b % 36];
    }
  }
  return out;
}

/** A token of the form `abcdef.0123456789abcdef`, as kubeadm and trustd use. */
export function randomToken(): string {
  return `${tokenPart(6)}.${tokenPart(16)}`;
}

function serviceAccountKey(kind: "rsa" | "ecdsa"): string {
  if (kind === "ecdsa") {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    return privateKey.export({ type: "sec1", format: "pem" }).toString();
  }
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 4096 });
  return privateKey.export({ type: "pkcs1", format: "pem" }).toString();
}

/** The cluster ID's encoding: URL-safe base64 before Talos 1.14, standard base64 from 1.14. */
function clusterIdEncoding(version: GenerateVersion): BufferEncoding {
  return version === "1.12" || version === "1.13" ? "base64url" : "base64";
}

function padded(b64url: string): string {
  return b64url + "=".repeat((4 - (b64url.length % 4)) % 4);
}

/** A new secrets bundle with fresh keys, tokens and CAs. Synchronous; RSA makes it take about a second. */
export function generateSecrets(options: GenerateSecretsOptions = {}): SecretsBundle {
  const version = generateVersion(options.talosVersion);
  const now = options.now ?? new Date();
  const idEncoding = clusterIdEncoding(version);
  const id = randomBytes(32).toString(idEncoding);
  return {
    cluster: {
      id: idEncoding === "base64url" ? padded(id) : id,
      secret: randomBytes(32).toString("base64"),
    },
    secrets: {
      bootstrapToken: randomToken(),
      secretboxEncryptionSecret: randomBytes(32).toString("base64"),
    },
    trustdToken: randomToken(),
    certs: {
      etcd: selfSignedCA("ecdsa-p256", ["etcd"], now, CA_VALIDITY_MS),
      k8s: selfSignedCA("ecdsa-p256", ["kubernetes"], now, CA_VALIDITY_MS),
      k8sAggregator: selfSignedCA("ecdsa-p256", [], now, CA_VALIDITY_MS),
      k8sServiceAccount: { key: serviceAccountKey(options.serviceAccountKey ?? "rsa") },
      os: selfSignedCA("ed25519", ["talos"], now, CA_VALIDITY_MS),
    },
  };
}

/** A Talos API client certificate for the bundle's OS CA (default role `os:admin`, valid 365 days). */
export function generateClientCertificate(
  bundle: SecretsBundle,
  roles: readonly string[] = ["os:admin"],
  now: Date = new Date(),
): PemCertAndKey {
  return clientCertificate(bundle.certs.os, roles, now, CLIENT_VALIDITY_MS);
}

const b64 = (pem: string) => Buffer.from(pem).toString("base64");

/** The bundle as `talosctl gen secrets` writes it (PEM blocks base64-encoded). */
export function printSecrets(bundle: SecretsBundle): string {
  const pair = (p: PemCertAndKey) => ({ crt: b64(p.crt), key: b64(p.key) });
  const s = bundle.secrets;
  return stringify(
    {
      cluster: { id: bundle.cluster.id, secret: bundle.cluster.secret },
      secrets: {
        bootstraptoken: s.bootstrapToken,
        ...(s.aescbcEncryptionSecret ? { aescbcencryptionsecret: s.aescbcEncryptionSecret } : {}),
        ...(s.secretboxEncryptionSecret
          ? { secretboxencryptionsecret: s.secretboxEncryptionSecret }
          : {}),
      },
      trustdinfo: { token: bundle.trustdToken },
      certs: {
        etcd: pair(bundle.certs.etcd),
        k8s: pair(bundle.certs.k8s),
        k8saggregator: pair(bundle.certs.k8sAggregator),
        k8sserviceaccount: { key: b64(bundle.certs.k8sServiceAccount.key) },
        os: pair(bundle.certs.os),
      },
    },
    { indent: 4, lineWidth: 0 },
  );
}

const pemText = z.string().transform((v, ctx) => {
  const text = Buffer.from(v, "base64").toString("utf8");
  if (!text.startsWith("-----BEGIN ")) {
    ctx.addIssue({ code: "custom", message: "is not a base64-encoded PEM block" });
    return z.NEVER;
  }
  return text;
});
const pairSchema = z.object({ crt: pemText, key: pemText });
const tokenSchema = z
  .string()
  .regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/, "is not a token like abcdef.0123456789abcdef");

const SecretsFileSchema = z.object({
  cluster: z.object({ id: z.string().min(1), secret: z.string().min(1) }),
  secrets: z.object({
    bootstraptoken: tokenSchema,
    secretboxencryptionsecret: z.string().optional(),
    aescbcencryptionsecret: z.string().optional(),
  }),
  trustdinfo: z.object({ token: tokenSchema }),
  certs: z.object({
    etcd: pairSchema,
    k8s: pairSchema,
    k8saggregator: pairSchema,
    k8sserviceaccount: z.object({ key: pemText }),
    os: pairSchema,
  }),
});

/**
 * Reads a secrets file of `talosctl gen secrets` (or {@link printSecrets}). A missing
 * or malformed field, or a key that does not load, throws {@link ConfigPatchError}
 * naming the field (never its value).
 */
export function parseSecrets(text: string, source = "secrets"): SecretsBundle {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (cause) {
    throw new ConfigPatchError("CONFIG_BAD_YAML", `${source}: not YAML`, { cause });
  }
  const parsed = SecretsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join(".") ?? "";
    throw new ConfigPatchError(
      "CONFIG_BAD_DOCUMENT",
      `${source}: ${path || "the file"} ${issue?.message ?? "is invalid"}`,
      { path },
    );
  }
  const f = parsed.data;
  for (const [name, pem] of [
    ["certs.etcd.key", f.certs.etcd.key],
    ["certs.k8s.key", f.certs.k8s.key],
    ["certs.k8saggregator.key", f.certs.k8saggregator.key],
    ["certs.k8sserviceaccount.key", f.certs.k8sserviceaccount.key],
    ["certs.os.key", f.certs.os.key],
  ] as const) {
    try {
      keyFromPem(pem);
    } catch {
      throw new ConfigPatchError("CONFIG_BAD_DOCUMENT", `${source}: ${name} is not a private key`, {
        path: name,
      });
    }
  }
  const secrets: SecretsBundle["secrets"] = { bootstrapToken: f.secrets.bootstraptoken };
  if (f.secrets.secretboxencryptionsecret)
    secrets.secretboxEncryptionSecret = f.secrets.secretboxencryptionsecret;
  if (f.secrets.aescbcencryptionsecret)
    secrets.aescbcEncryptionSecret = f.secrets.aescbcencryptionsecret;
  return {
    cluster: f.cluster,
    secrets,
    trustdToken: f.trustdinfo.token,
    certs: {
      etcd: f.certs.etcd,
      k8s: f.certs.k8s,
      k8sAggregator: f.certs.k8saggregator,
      k8sServiceAccount: f.certs.k8sserviceaccount,
      os: f.certs.os,
    },
  };
}
