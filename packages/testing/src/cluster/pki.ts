import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  X509Certificate as NodeX509,
  sign as nodeSign,
  randomBytes,
  webcrypto,
} from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;

const ED25519 = { name: "Ed25519" } as const;
const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const DAY = 24 * 60 * 60 * 1000;

/** A PEM certificate with its PEM private key. */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** Options for a Talos API client certificate. */
export interface IssueClientOptions {
  /** Roles written to the subject's Organization; default `["os:admin"]`. */
  roles?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** PEM label of the key: Talos writes `ED25519 PRIVATE KEY` (the default), Node reads `PRIVATE KEY`. */
  keyLabel?: "ED25519 PRIVATE KEY" | "PRIVATE KEY";
  /** Sign with the cluster CA (default) or with an unrelated CA, to test rejection. */
  ca?: "talos" | "other";
  /** Extended key usages as OIDs; default exactly clientAuth like Talos. */
  extKeyUsage?: string[];
}

/** Options for a server certificate. */
export interface IssueServerOptions {
  dnsNames?: string[];
  ipAddresses?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Sign with the cluster CA (default) or with an unrelated CA. */
  ca?: "talos" | "other";
}

/** A Talos-style PKI: an Ed25519 CA (Organization `talos`) that issues client and server certificates. */
export interface TalosPki {
  ca: CertAndKey;
  /** A second, unrelated CA, for wrong-certificate tests. */
  otherCa: CertAndKey;
  issueClient(opts?: IssueClientOptions): CertAndKey;
  issueServer(opts: IssueServerOptions): CertAndKey;
}

interface Authority {
  pair: KeyPair;
  cert: x509.X509Certificate;
  pem: CertAndKey;
}

interface KeyMaterial {
  pair: KeyPair;
  pkcs8: Buffer;
}

async function newKey(): Promise<KeyMaterial> {
  const pair = (await webcrypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as KeyPair;
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { pair, pkcs8 };
}

function keyPem(pkcs8: Buffer, label: string): string {
  const b64 = pkcs8
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x3f) | 0x40; // positive and minimally encoded
  return b.toString("hex");
}

async function makeCa(org: string): Promise<Authority> {
  const key = await newKey();
  const now = Date.now();
  const name = [{ O: [org] }];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: ED25519,
    publicKey: key.pair.publicKey,
    signingKey: key.pair.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(key.pair.publicKey),
    ],
  });
  return {
    pair: key.pair,
    cert,
    pem: { certPem: cert.toString("pem"), keyPem: keyPem(key.pkcs8, "ED25519 PRIVATE KEY") },
  };
}

interface CertRequest {
  subject: x509.JsonName;
  notBefore: Date;
  notAfter: Date;
  extKeyUsage: string[];
  san?: x509.JsonGeneralName[];
}

/** Issues leaf certificates synchronously (Node's Ed25519 keygen and signing, DER by hand). */
class Issuer {
  constructor(
    private readonly authorities: Record<"talos" | "other", Authority>,
    private readonly caKeys: Record<"talos" | "other", Buffer>,
  ) {}

  issue(ca: "talos" | "other", req: CertRequest): { certPem: string; pkcs8: Buffer } {
    const key = newKeySync();
    const pem = signSync(this.authorities[ca], this.caKeys[ca], key, req);
    return { certPem: pem, pkcs8: key };
  }
}

function newKeySync(): Buffer {
  const { privateKey } = generateKeyPairSync("ed25519");
  return privateKey.export({ type: "pkcs8", format: "der" });
}

// --- synchronous certificate signing with a few lines of DER ---

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.unshift(v & 0xff);
    v >>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derTime(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const p2 = (n: number) => String(n).padStart(2, "0");
  const rest = `${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return der(0x17, Buffer.from(`${p2(y % 100)}${rest}`, "ascii"));
  return der(0x18, Buffer.from(`${y}${rest}`, "ascii"));
}

const ED25519_ALG = Buffer.from([0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]);

function signSync(authority: Authority, caPkcs8: Buffer, key: Buffer, req: CertRequest): string {
  const spkiDer = createPublicKeyDer(key);
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(req.extKeyUsage),
  ];
  const ski = authority.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) exts.push(new x509.AuthorityKeyIdentifierExtension(ski.keyId));
  if (req.san && req.san.length > 0) exts.push(new x509.SubjectAlternativeNameExtension(req.san));
  const tbs = der(
    0x30,
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, Buffer.from(serial(), "hex")),
    ED25519_ALG,
    Buffer.from(authority.cert.subjectName.toArrayBuffer()),
    der(0x30, derTime(req.notBefore), derTime(req.notAfter)),
    Buffer.from(new x509.Name(req.subject).toArrayBuffer()),
    spkiDer,
    der(0xa3, der(0x30, ...exts.map((e) => Buffer.from(e.rawData)))),
  );
  const caKey = createPrivateKey({ key: caPkcs8, format: "der", type: "pkcs8" });
  const signature = nodeSign(null, tbs, caKey);
  const cert = der(0x30, tbs, ED25519_ALG, der(0x03, Buffer.from([0]), signature));
  const b64 = cert
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

function createPublicKeyDer(pkcs8: Buffer): Buffer {
  const priv = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return createPublicKey(priv).export({ type: "spki", format: "der" });
}

/** Base64 (standard) SHA-256 of a certificate's SubjectPublicKeyInfo, as Talos prints for maintenance mode. */
export function spkiFingerprint(certPem: string): string {
  const cert = new NodeX509(certPem);
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/** Rewrite the Talos `ED25519 PRIVATE KEY` PEM label to `PRIVATE KEY`, which Node's OpenSSL accepts. */
export function nodeKeyPem(pem: string): string {
  return pem.replace(/(-----(BEGIN|END) )ED25519 PRIVATE KEY-----/g, "$1PRIVATE KEY-----");
}

/** Create a fresh Talos-style PKI (Ed25519 CA with Organization `talos`, plus an unrelated CA). */
export async function createTalosPki(): Promise<TalosPki> {
  const talos = await makeCa("talos");
  const other = await makeCa("other");
  const caKeys = {
    talos: Buffer.from(await webcrypto.subtle.exportKey("pkcs8", talos.pair.privateKey)),
    other: Buffer.from(await webcrypto.subtle.exportKey("pkcs8", other.pair.privateKey)),
  };
  const issuer = new Issuer({ talos, other }, caKeys);
  return {
    ca: talos.pem,
    otherCa: other.pem,
    issueClient(opts = {}) {
      const now = Date.now();
      const roles = opts.roles ?? ["os:admin"];
      const r = issuer.issue(opts.ca ?? "talos", {
        subject: roles.length > 0 ? roles.map((role) => ({ O: [role] })) : [{ CN: ["client"] }],
        notBefore: opts.notBefore ?? new Date(now - 60_000),
        notAfter: opts.notAfter ?? new Date(now + 365 * DAY),
        extKeyUsage: opts.extKeyUsage ?? [OID_CLIENT_AUTH],
      });
      return {
        certPem: r.certPem,
        keyPem: keyPem(r.pkcs8, opts.keyLabel ?? "ED25519 PRIVATE KEY"),
      };
    },
    issueServer(opts) {
      const now = Date.now();
      const san: x509.JsonGeneralName[] = [
        ...(opts.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
      ];
      const r = issuer.issue(opts.ca ?? "talos", {
        subject: [{ CN: [opts.dnsNames?.[0] ?? "talos"] }],
        notBefore: opts.notBefore ?? new Date(now - 60_000),
        notAfter: opts.notAfter ?? new Date(now + DAY),
        extKeyUsage: [OID_SERVER_AUTH],
        san,
      });
      return { certPem: r.certPem, keyPem: keyPem(r.pkcs8, "ED25519 PRIVATE KEY") };
    },
  };
}

/** Create a self-signed Ed25519 maintenance certificate (a root and a leaf signed by it). */
export async function createMaintenanceCert(names: {
  ipAddresses: string[];
  dnsNames: string[];
}): Promise<{
  root: CertAndKey;
  leaf: CertAndKey;
  fingerprint: string;
}> {
  const root = await makeCa("talos-maintenance");
  const rootKey = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", root.pair.privateKey));
  const key = newKeySync();
  const now = Date.now();
  const certPem = signSync(root, rootKey, key, {
    subject: [{ CN: ["maintenance"] }],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + DAY),
    extKeyUsage: [OID_SERVER_AUTH],
    san: [
      ...names.dnsNames.map((value) => ({ type: "dns" as const, value })),
      ...names.ipAddresses.map((value) => ({ type: "ip" as const, value })),
    ],
  });
  return {
    root: root.pem,
    leaf: { certPem, keyPem: keyPem(key, "ED25519 PRIVATE KEY") },
    fingerprint: spkiFingerprint(certPem),
  };
}
