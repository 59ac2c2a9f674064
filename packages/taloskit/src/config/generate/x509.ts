// Self-signed CAs and the certificates they issue, shaped as Talos makes them:
// a small DER writer over node:crypto, so generation needs no extra package and
// runs synchronously.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";

/** A certificate and its private key, both PEM. */
export interface PemCertAndKey {
  crt: string;
  key: string;
}

/** The key algorithms Talos uses for its CAs and clients. */
export type KeyAlgorithm = "ed25519" | "ecdsa-p256";

const OID = {
  organization: "2.5.4.10",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  basicConstraints: "2.5.29.19",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  ed25519: "1.3.101.112",
  ecdsaSha256: "1.2.840.10045.4.3.2",
} as const;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const group = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128))
      group.unshift(0x80 | (v & 0x7f));
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

/** A Name holding only Organization values (possibly none), as Talos's certificates do. */
function orgName(orgs: readonly string[]): Buffer {
  return seq(...orgs.map((o) => tlv(0x31, seq(oid(OID.organization), tlv(0x13, Buffer.from(o))))));
}

const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));

/** KeyUsage bits in DER BIT STRING order: digitalSignature is bit 0, keyCertSign bit 5. */
function keyUsage(bits: { digitalSignature?: boolean; keyCertSign?: boolean }): Buffer {
  const byte = (bits.digitalSignature ? 0x80 : 0) | (bits.keyCertSign ? 0x04 : 0);
  let unused = 0;
  while (unused < 7 && !(byte & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, byte]));
}

function newKey(algorithm: KeyAlgorithm): KeyObject {
  return algorithm === "ed25519"
    ? generateKeyPairSync("ed25519").privateKey
    : generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
}

/** A private key as Talos writes it: `ED25519 PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1). */
export function keyToPem(key: KeyObject): string {
  if (key.asymmetricKeyType === "ed25519") {
    const der = key.export({ type: "pkcs8", format: "der" });
    const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
    return `-----BEGIN ED25519 PRIVATE KEY-----\n${lines.join("\n")}\n-----END ED25519 PRIVATE KEY-----\n`;
  }
  if (key.asymmetricKeyType === "ec") return key.export({ type: "sec1", format: "pem" }).toString();
  return key.export({ type: "pkcs1", format: "pem" }).toString();
}

/** Reads a PEM private key, accepting Talos's `ED25519 PRIVATE KEY` label. */
export function keyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem.replace(/ED25519 PRIVATE KEY/g, "PRIVATE KEY"));
}

function certPem(der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** The SubjectKeyIdentifier Go computes: SHA-1 of the public key's bits. */
function keyId(spki: Buffer): Buffer {
  const pub = createPublicKey({ key: spki, format: "der", type: "spki" });
  // The last BIT STRING of the SPKI holds the key; its content after the unused-bits byte.
  const raw =
    pub.asymmetricKeyType === "ed25519"
      ? spki.subarray(spki.length - 32)
      : spki.subarray(spki.length - 65);
  return createHash("sha1").update(raw).digest();
}

/** The children of a DER SEQUENCE, each whole (tag, length and content). */
function children(der: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const header = (at: number) => {
    const first = der[at + 1] ?? 0;
    if (first < 0x80) return { start: at + 2, len: first };
    const n = first & 0x7f;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[at + 2 + i] ?? 0);
    return { start: at + 2 + n, len };
  };
  const outer = header(0);
  for (let at = outer.start; at < outer.start + outer.len; ) {
    const { start, len } = header(at);
    out.push(der.subarray(at, start + len));
    at = start + len;
  }
  return out;
}

/** The subject Name of a certificate, byte for byte (an issued certificate's issuer must match it). */
function subjectOf(certDer: Buffer): Buffer {
  const tbs = children(certDer)[0];
  const subject = tbs ? children(tbs)[5] : undefined;
  if (!subject) throw new Error("the CA certificate cannot be read");
  return subject;
}

function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return tlv(0x02, bytes);
}

interface Issue {
  subject: readonly string[];
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  issuer?: { name: Buffer; keyId: Buffer };
  signer: KeyObject;
}

function issue(req: Issue): string {
  const spki = req.publicKey.export({ type: "spki", format: "der" });
  const algorithm = seq(
    oid(req.signer.asymmetricKeyType === "ed25519" ? OID.ed25519 : OID.ecdsaSha256),
  );
  const exts = req.ca
    ? [
        extension(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyCertSign: true })),
        extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))),
        extension(OID.basicConstraints, true, seq(tlv(0x01, Buffer.from([0xff])))),
        extension(OID.subjectKeyId, false, tlv(0x04, keyId(spki))),
      ]
    : [
        extension(OID.keyUsage, true, keyUsage({ digitalSignature: true })),
        extension(OID.extKeyUsage, false, seq(oid(OID.clientAuth))),
        extension(OID.authorityKeyId, false, seq(tlv(0x80, req.issuer?.keyId ?? Buffer.alloc(0)))),
      ];
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    serialNumber(),
    algorithm,
    req.issuer?.name ?? orgName(req.subject),
    seq(time(req.notBefore), time(req.notAfter)),
    orgName(req.subject),
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const digest = req.signer.asymmetricKeyType === "ed25519" ? null : "sha256";
  const signature = sign(digest, tbs, req.signer);
  return certPem(seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))));
}

/** A self-signed CA with Organization `org` (none when empty), valid from `now` for `validityMs`. */
export function selfSignedCA(
  algorithm: KeyAlgorithm,
  org: readonly string[],
  now: Date,
  validityMs: number,
): PemCertAndKey {
  const key = newKey(algorithm);
  const crt = issue({
    subject: org,
    publicKey: createPublicKey(key),
    notBefore: now,
    notAfter: new Date(now.getTime() + validityMs),
    ca: true,
    signer: key,
  });
  return { crt, key: keyToPem(key) };
}

/** A client certificate (Ed25519 key, clientAuth) signed by `ca`, its Organization the roles. */
export function clientCertificate(
  ca: PemCertAndKey,
  roles: readonly string[],
  now: Date,
  validityMs: number,
): PemCertAndKey {
  const caKey = keyFromPem(ca.key);
  const caDer = Buffer.from(ca.crt.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  const caSpki = createPublicKey(caKey).export({ type: "spki", format: "der" });
  const key = newKey("ed25519");
  const crt = issue({
    subject: roles,
    publicKey: createPublicKey(key),
    notBefore: now,
    notAfter: new Date(now.getTime() + validityMs),
    ca: false,
    issuer: { name: subjectOf(caDer), keyId: keyId(caSpki) },
    signer: caKey,
  });
  return { crt, key: keyToPem(key) };
}
