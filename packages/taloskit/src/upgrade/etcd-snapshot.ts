// Reading an etcd snapshot file back before trusting it: what etcd's own
// restore checks, done by our own reader. A snapshot as etcd streams it
// (maintenance Snapshot, what Talos's EtcdSnapshot relays) is a bbolt
// database followed by the SHA-256 of the database's bytes.
//
// Formats (facts from upstream, code our own):
// - bbolt (go.etcd.io/bbolt, page.go / meta.go): every page starts with a
//   16-byte header (id u64, flags u16, count u16, overflow u32; little
//   endian). Pages 0 and 1 are meta pages (flag 0x04) whose body is magic u32
//   (0xED0CDAED), version u32 (2), page size u32, flags u32, the root bucket
//   (root page u64, sequence u64), freelist page u64, high-water page id u64,
//   txid u64 and a checksum u64: the 64-bit FNV-1a of the 56 bytes before it.
//   bbolt opens a file when either meta page validates and uses the one with
//   the higher txid. Tx.WriteTo, which etcd's snapshot uses, writes exactly
//   high-water page id x page size bytes.
// - etcd (etcdutl/snapshot/v3_snapshot.go, copyAndVerifyDB): a file whose
//   size modulo 512 is 32 carries the SHA-256 trailer; restore compares it
//   with the hash of everything before it and refuses a mismatch, and refuses
//   a file without it unless --skip-hash-check.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { UpgradeError } from "./errors.js";

const SHA256_BYTES = 32;
const PAGE_HEADER = 16;
const META_BODY = 64;
const BOLT_MAGIC = 0xed0cdaed;
const BOLT_VERSION = 2;
const PAGE_FLAG_META = 0x04;
/** Read size while hashing: large enough to be fast, small enough for any snapshot size. */
const CHUNK = 1 << 20;

/** What a verified snapshot holds. */
export interface EtcdSnapshotInfo {
  /** Bytes of the file: the database and the 32-byte SHA-256 trailer. */
  size: number;
  /** Bytes of the bbolt database alone. */
  dbSize: number;
  pageSize: number;
  /** The transaction of the meta page bbolt would use. */
  txid: bigint;
  /** Hex SHA-256 of the database (the trailer). */
  sha256: string;
}

/** 64-bit FNV-1a: bbolt's meta page checksum. */
function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

interface Meta {
  pageSize: number;
  highWater: bigint;
  txid: bigint;
}

/** One meta page (header and body), or why bbolt would reject it. */
function readMeta(page: Buffer): Meta | string {
  if (page.length < PAGE_HEADER + META_BODY) return "the file is shorter than a meta page";
  if ((page.readUInt16LE(8) & PAGE_FLAG_META) === 0) return "the page is not a meta page";
  const m = page.subarray(PAGE_HEADER, PAGE_HEADER + META_BODY);
  if (m.readUInt32LE(0) !== BOLT_MAGIC) return "no bbolt magic";
  if (m.readUInt32LE(4) !== BOLT_VERSION) return `bbolt version ${m.readUInt32LE(4)}, not 2`;
  if (m.readBigUInt64LE(56) !== fnv1a64(m.subarray(0, 56))) return "meta checksum mismatch";
  return {
    pageSize: m.readUInt32LE(8),
    highWater: m.readBigUInt64LE(40),
    txid: m.readBigUInt64LE(48),
  };
}

function invalid(name: string, why: string, cause?: unknown): UpgradeError {
  return new UpgradeError(
    "UPGRADE_ETCD_SNAPSHOT_FAILED",
    `${name} is not a readable etcd snapshot: ${why}`,
    { step: "snapshot", cause },
  );
}

/**
 * Checks an etcd snapshot file as etcd's restore would: the SHA-256 trailer
 * over the database, and a bbolt meta page (magic, version, checksum) whose
 * page count matches the database's size. Throws UpgradeError
 * UPGRADE_ETCD_SNAPSHOT_FAILED (step "snapshot") naming what is wrong, and
 * the file by `name` (default: its path).
 */
export async function verifyEtcdSnapshot(
  path: string,
  name: string = path,
): Promise<EtcdSnapshotInfo> {
  const fh = await open(path, "r").catch((error: unknown) => {
    throw invalid(
      name,
      `cannot open it (${(error as NodeJS.ErrnoException).code ?? error})`,
      error,
    );
  });
  try {
    const size = (await fh.stat()).size;
    if (size === 0) throw invalid(name, "the file is empty");
    if (size % 512 !== SHA256_BYTES)
      throw invalid(name, `${size} bytes do not end in etcd's SHA-256 trailer (truncated?)`);
    const dbSize = size - SHA256_BYTES;
    const hash = createHash("sha256");
    const buf = Buffer.alloc(Math.min(CHUNK, dbSize));
    for (let at = 0; at < dbSize; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, dbSize - at), at);
      if (bytesRead === 0) throw invalid(name, "the file ended while it was read");
      hash.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    const trailer = Buffer.alloc(SHA256_BYTES);
    await fh.read(trailer, 0, SHA256_BYTES, dbSize);
    const sha256 = hash.digest("hex");
    if (sha256 !== trailer.toString("hex"))
      throw invalid(name, "the SHA-256 trailer does not match the database (corrupted)");

    // bbolt reads meta page 0 at offset 0 and meta page 1 one page further.
    const first = Buffer.alloc(Math.min(dbSize, PAGE_HEADER + META_BODY));
    await fh.read(first, 0, first.length, 0);
    const meta0 = readMeta(first);
    let meta1: Meta | string = "meta page 0 gives no page size";
    if (typeof meta0 !== "string") {
      const second = Buffer.alloc(Math.min(Math.max(dbSize - meta0.pageSize, 0), first.length));
      await fh.read(second, 0, second.length, meta0.pageSize);
      meta1 = readMeta(second);
    }
    const valid = [meta0, meta1].filter((m): m is Meta => typeof m !== "string");
    const meta = valid.sort((a, b) => (a.txid < b.txid ? 1 : -1))[0];
    if (!meta) throw invalid(name, `no valid bbolt meta page (page 0: ${meta0}; page 1: ${meta1})`);
    if (BigInt(dbSize) !== meta.highWater * BigInt(meta.pageSize))
      throw invalid(
        name,
        `the database has ${dbSize} bytes but its meta page counts ${meta.highWater} pages of ${meta.pageSize}`,
      );
    return { size, dbSize, pageSize: meta.pageSize, txid: meta.txid, sha256 };
  } finally {
    await fh.close();
  }
}
