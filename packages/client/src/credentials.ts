// PEM credentials for the Talos API: decoding talosconfig base64 fields,
// relabelling Talos's Ed25519 keys for OpenSSL, sanity checks that name the
// problem, and SPKI fingerprints for maintenance mode.
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { CredentialsError } from "./errors.js";

/** PEM-encoded TLS material ready for Node's TLS options. */
export interface PemCredentials {
  /** One or more CA certificates (PEM), or undefined for the system roots. */
  ca?: string | undefined;
  /** Client certificate (PEM). */
  cert?: string | undefined;
  /** Client private key (PEM, label already usable by OpenSSL). */
  key?: string | undefined;
}

// A label is short: bounding it keeps every match attempt short, whatever the text.
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----\r?\n/g;

interface PemBlock {
  label: string;
  der: Buffer;
}

/**
 * The PEM blocks of a text, each ending at the nearest END line of its label.
 * Linear in the text: a label whose END is missing is not searched for again.
 */
function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const unterminated = new Set<string>();
  const begin = new RegExp(PEM_BEGIN);
  for (let m = begin.exec(text); m; m = begin.exec(text)) {
    const label = m[1] ?? "";
    if (unterminated.has(label)) continue;
    const endLine = `-----END ${label}-----`;
    const end = text.indexOf(endLine, begin.lastIndex);
    if (end < 0) {
      unterminated.add(label);
      continue;
    }
    const body = text.slice(begin.lastIndex, end).replace(/\s+/g, "");
    blocks.push({ label, der: Buffer.from(body, "base64") });
    begin.lastIndex = end + endLine.length;
  }
  return blocks;
}

function toPem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.endsWith("\n") ? b64 : `${b64}\n`}-----END ${label}-----\n`;
}

/**
 * Decodes a talosconfig field: standard base64 of PEM text. Also accepts PEM
 * text given directly. Throws a CredentialsError naming the field otherwise.
 */
export function decodePemField(value: string, field: "ca" | "crt" | "key", where = ""): string {
  const trimmed = value.trim();
  if (trimmed.startsWith("-----BEGIN ")) return trimmed;
  const compact = trimmed.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new CredentialsError(
      "CREDENTIALS_INVALID",
      `"${field}"${where} is not valid base64 (it should be base64 of PEM text)`,
      { field },
    );
  }
  const text = Buffer.from(compact, "base64").toString("utf8");
  if (!text.includes("-----BEGIN ")) {
    throw new CredentialsError(
      "CREDENTIALS_INVALID",
      `"${field}"${where} decodes from base64 but holds no PEM block`,
      { field },
    );
  }
  return text;
}

/** Parses every certificate of a PEM bundle; throws if there is none or one is malformed. */
export function parseCertificates(pem: string, field: "ca" | "crt", where = ""): X509Certificate[] {
  const blocks = pemBlocks(pem);
  const certs = blocks.filter((b) => b.label === "CERTIFICATE");
  if (certs.length === 0) {
    const labels = blocks.map((b) => b.label).join(", ") || "none";
    throw new CredentialsError(
      "CREDENTIALS_INVALID",
      `"${field}"${where} holds no CERTIFICATE PEM block (found: ${labels})`,
      { field },
    );
  }
  return certs.map((b, i) => {
    try {
      return new X509Certificate(b.der);
    } catch (cause) {
      throw new CredentialsError(
        "CREDENTIALS_INVALID",
        `"${field}"${where} certificate #${i + 1} cannot be parsed`,
        { field, cause },
      );
    }
  });
}

/** OID 1.3.101.112 (Ed25519) as it appears in a PKCS#8 AlgorithmIdentifier. */
const ED25519_OID = Buffer.from([0x06, 0x03, 0x2b, 0x65, 0x70]);

/**
 * Makes a private key PEM loadable by Node: Talos labels PKCS#8 Ed25519 keys
 * "ED25519 PRIVATE KEY", which OpenSSL refuses; after checking that the block
 * really is a PKCS#8 Ed25519 key it is relabelled "PRIVATE KEY". Other
 * private-key labels pass through; anything else is a CredentialsError.
 */
export function normalizePrivateKey(pem: string, where = ""): { pem: string; key: KeyObject } {
  const blocks = pemBlocks(pem);
  const block = blocks.find((b) => b.label.endsWith("PRIVATE KEY"));
  if (!block) {
    const labels = blocks.map((b) => b.label).join(", ") || "none";
    throw new CredentialsError(
      "CREDENTIALS_INVALID",
      `"key"${where} holds no private key PEM block (found: ${labels})`,
      { field: "key" },
    );
  }
  let out = pem;
  if (block.label === "ED25519 PRIVATE KEY") {
    // PKCS#8: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING ... }
    const head = block.der.subarray(0, 16);
    if (head[0] !== 0x30 || head.indexOf(ED25519_OID) < 0) {
      throw new CredentialsError(
        "CREDENTIALS_INVALID",
        `"key"${where} is labelled ED25519 PRIVATE KEY but is not a PKCS#8 Ed25519 key`,
        { field: "key" },
      );
    }
    out = toPem("PRIVATE KEY", block.der);
  } else if (
    !["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"].includes(
      block.label,
    )
  ) {
    throw new CredentialsError(
      "CREDENTIALS_INVALID",
      `"key"${where} has an unsupported PEM label "${block.label}"`,
      { field: "key" },
    );
  } else {
    out = toPem(block.label, block.der);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(out);
  } catch (cause) {
    throw new CredentialsError("CREDENTIALS_INVALID", `"key"${where} cannot be parsed`, {
      field: "key",
      cause,
    });
  }
  return { pem: out, key };
}

/** Roles of a Talos client certificate: its subject Organization values. */
export function certificateRoles(cert: X509Certificate): string[] {
  return cert.subject
    .split("\n")
    .filter((line) => line.startsWith("O="))
    .map((line) => line.slice(2));
}

/**
 * Validates and prepares mTLS credentials: parses the CA bundle and client
 * certificate, relabels the key, checks the key matches the certificate and
 * that the certificate is within its validity period.
 */
export function prepareCredentials(
  input: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
  where = "",
  now: Date = new Date(),
): PemCredentials & { roles: string[] } {
  const out: PemCredentials & { roles: string[] } = { roles: [] };
  if (input.ca) {
    const cas = parseCertificates(input.ca, "ca", where);
    out.ca = cas.map((c) => c.toString()).join("");
  }
  if (Boolean(input.cert) !== Boolean(input.key)) {
    const missing = input.cert ? "key" : "crt";
    throw new CredentialsError(
      "CREDENTIALS_INVALID",
      `"${missing}"${where} is missing: a client certificate needs both "crt" and "key"`,
      { field: missing },
    );
  }
  if (input.cert && input.key) {
    const [cert] = parseCertificates(input.cert, "crt", where);
    if (!cert) throw new CredentialsError("CREDENTIALS_INVALID", `"crt"${where} is empty`);
    const { pem, key } = normalizePrivateKey(input.key, where);
    if (!cert.checkPrivateKey(key)) {
      throw new CredentialsError(
        "CREDENTIALS_INVALID",
        `"key"${where} does not belong to the client certificate "crt"`,
        { field: "key" },
      );
    }
    const notAfter = new Date(cert.validTo);
    if (notAfter.getTime() < now.getTime()) {
      throw new CredentialsError(
        "CREDENTIALS_EXPIRED",
        `the client certificate "crt"${where} expired on ${notAfter.toISOString()}`,
        { field: "crt" },
      );
    }
    const notBefore = new Date(cert.validFrom);
    if (notBefore.getTime() > now.getTime() + 5 * 60_000) {
      throw new CredentialsError(
        "CREDENTIALS_EXPIRED",
        `the client certificate "crt"${where} is not valid before ${notBefore.toISOString()}`,
        { field: "crt" },
      );
    }
    out.cert = input.cert;
    out.key = pem;
    out.roles = certificateRoles(cert);
  }
  return out;
}

/**
 * The SPKI fingerprint Talos prints for maintenance-mode servers: base64 of
 * SHA-256 over the certificate's DER SubjectPublicKeyInfo.
 */
export function spkiFingerprint(cert: X509Certificate | Buffer | string): string {
  let x509: X509Certificate;
  try {
    x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  } catch (error) {
    throw new CredentialsError(
      "CREDENTIALS_INVALID",
      "spkiFingerprint: the input is not an X.509 certificate (PEM or DER)",
      { cause: error },
    );
  }
  const spki = x509.publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}
