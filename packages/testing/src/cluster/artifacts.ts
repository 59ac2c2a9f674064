// Files a node hands out whole, in the shape the tools that read them check:
// the admin kubeconfig (talosctl checks it is the single-cluster, single-user,
// certificate-based document Talos generates) and the etcd snapshot (a bbolt
// database followed by its SHA-256, which talosctl checks and etcdutl opens).
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { nodeKeyPem } from "./pki.js";

/**
 * The admin kubeconfig of a cluster as Talos generates it: one cluster, one
 * user `admin@<cluster>` with an embedded client certificate and key, one
 * context in the `default` namespace, which is the current one.
 */
export function adminKubeconfig(o: {
  cluster: string;
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const user = `admin@${o.cluster}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: o.cluster,
        cluster: { server: o.server, "certificate-authority-data": b64(o.caPem) },
      },
    ],
    users: [
      {
        name: user,
        user: {
          "client-certificate-data": b64(o.certPem),
          "client-key-data": b64(nodeKeyPem(o.keyPem)),
        },
      },
    ],
    contexts: [{ name: user, context: { cluster: o.cluster, namespace: "default", user } }],
    "current-context": user,
  });
}

// The bbolt layout (go.etcd.io/bbolt page.go, meta.go): 16-byte page headers
// (id, flags, count, overflow), meta pages 0 and 1 checked by magic, version
// and an FNV-1a checksum, leaf pages of 16-byte elements (flags, offset to the
// key from the element, key size, value size) followed by keys and values.
const PAGE = 4096;
const BOLT_MAGIC = 0xed0cdaed;
const BOLT_VERSION = 2;
const PAGE_META = 0x04;
const PAGE_LEAF = 0x02;
const PAGE_FREELIST = 0x10;
const BUCKET_LEAF = 0x01;
const SHA256_BYTES = 32;
/** Where Talos keeps a snapshot uploaded by EtcdRecover until Bootstrap restores it. */
export const ETCD_RECOVERY_PATH = "/var/lib/etcd.snapshot";

/** FNV-1a, 64 bits (bbolt's meta page checksum). */
function fnv64a(b: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const x of b) {
    h ^= BigInt(x);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

interface LeafEntry {
  key: Buffer;
  value: Buffer;
  bucket?: boolean;
}

/** A leaf page (with overflow pages when its entries need them) holding `entries` in key order. */
function leafPage(id: number, entries: LeafEntry[]): Buffer {
  const data = entries.reduce((n, e) => n + e.key.length + e.value.length, 0);
  const pages = Math.ceil((16 + 16 * entries.length + data) / PAGE);
  const p = Buffer.alloc(pages * PAGE);
  p.writeBigUInt64LE(BigInt(id), 0);
  p.writeUInt16LE(PAGE_LEAF, 8);
  p.writeUInt16LE(entries.length, 10);
  p.writeUInt32LE(pages - 1, 12);
  let at = 16 + 16 * entries.length;
  entries.forEach((e, i) => {
    const el = 16 + 16 * i;
    p.writeUInt32LE(e.bucket ? BUCKET_LEAF : 0, el);
    p.writeUInt32LE(at - el, el + 4);
    p.writeUInt32LE(e.key.length, el + 8);
    p.writeUInt32LE(e.value.length, el + 12);
    e.key.copy(p, at);
    e.value.copy(p, at + e.key.length);
    at += e.key.length + e.value.length;
  });
  return p;
}

/** A bucket's value in its parent: its root page and sequence. */
function bucketHeader(root: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(root), 0);
  return b;
}

/** Protobuf varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

/**
 * One key of etcd's `key` bucket: the revision (main, `_`, sub; 8 bytes big
 * endian each) and an mvccpb.KeyValue (key 1, create_revision 2, mod_revision
 * 3, version 4, value 5).
 */
function etcdKey(revision: number, key: string, value: string): LeafEntry {
  const rev = Buffer.alloc(17);
  rev.writeBigUInt64BE(BigInt(revision), 0);
  rev.write("_", 8);
  const bytes = (field: number, b: Buffer) =>
    Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
  const num = (field: number, n: number) => Buffer.concat([varint(field << 3), varint(n)]);
  const kv = Buffer.concat([
    bytes(1, Buffer.from(key)),
    num(2, revision),
    num(3, revision),
    num(4, 1),
    bytes(5, Buffer.from(value)),
  ]);
  return { key: rev, value: kv };
}

/** What an etcd snapshot of the simulator holds. */
export interface EtcdSnapshotContent {
  /** Keys and values, in the order they were written (revision 2 onwards). */
  keys?: Record<string, string>;
  /** The database's size in bytes, as EtcdStatus reports it: the file is padded to it. */
  dbSize?: bigint;
}

/**
 * The freelist page listing `free` page IDs, with overflow pages as needed. A
 * count of 0xFFFF or more is stored as 0xFFFF, the real count in the first slot.
 */
function freelistPage(free: number[]): Buffer {
  const big = free.length >= 0xffff;
  const ids = big ? [free.length, ...free] : free;
  const pages = Math.ceil((16 + 8 * ids.length) / PAGE);
  const p = Buffer.alloc(pages * PAGE);
  p.writeBigUInt64LE(2n, 0);
  p.writeUInt16LE(PAGE_FREELIST, 8);
  p.writeUInt16LE(big ? 0xffff : free.length, 10);
  p.writeUInt32LE(pages - 1, 12);
  ids.forEach((id, i) => {
    p.writeBigUInt64LE(BigInt(id), 16 + 8 * i);
  });
  return p;
}

/**
 * A bbolt database laid out as bbolt writes one: two meta pages (transactions
 * 0 and 1), the freelist, the root bucket's leaf with etcd's `key` and `meta`
 * buckets, their leaves, and free pages (listed in the freelist, so bbolt's
 * consistency check finds every page accounted for) up to `dbSize`.
 */
function boltDb(content: EtcdSnapshotContent): Buffer {
  const keys = Object.entries(content.keys ?? {}).map(([k, v], i) => etcdKey(i + 2, k, v));
  const index = Buffer.alloc(8);
  index.writeBigUInt64BE(BigInt(keys.length + 1));
  const wanted = Math.ceil(Number(content.dbSize ?? 0n) / PAGE);
  // The freelist's own size depends on how many pages it lists: grow it until it fits.
  let freelist = freelistPage([]);
  for (;;) {
    const rootId = 2 + freelist.length / PAGE;
    const keyId = rootId + 1;
    const keyLeaf = leafPage(keyId, keys);
    const metaId = keyId + keyLeaf.length / PAGE;
    const metaLeaf = leafPage(metaId, [{ key: Buffer.from("consistent_index"), value: index }]);
    const used = metaId + metaLeaf.length / PAGE;
    const pages = Math.max(used, wanted);
    const free = Array.from({ length: pages - used }, (_, i) => used + i);
    const next = freelistPage(free);
    if (next.length > freelist.length) {
      freelist = next;
      continue;
    }
    const root = leafPage(rootId, [
      { key: Buffer.from("key"), value: bucketHeader(keyId), bucket: true },
      { key: Buffer.from("meta"), value: bucketHeader(metaId), bucket: true },
    ]);
    const db = Buffer.alloc(pages * PAGE);
    for (const id of [0, 1]) {
      const at = id * PAGE;
      db.writeBigUInt64LE(BigInt(id), at);
      db.writeUInt16LE(PAGE_META, at + 8);
      const m = at + 16;
      db.writeUInt32LE(BOLT_MAGIC, m);
      db.writeUInt32LE(BOLT_VERSION, m + 4);
      db.writeUInt32LE(PAGE, m + 8);
      db.writeBigUInt64LE(BigInt(rootId), m + 16); // root bucket page
      db.writeBigUInt64LE(2n, m + 32); // freelist page
      db.writeBigUInt64LE(BigInt(pages), m + 40); // high-water page id
      db.writeBigUInt64LE(BigInt(id), m + 48); // txid
      db.writeBigUInt64LE(fnv64a(db.subarray(m, m + 56)), m + 56);
    }
    next.copy(db, 2 * PAGE);
    root.copy(db, rootId * PAGE);
    keyLeaf.copy(db, keyId * PAGE);
    metaLeaf.copy(db, metaId * PAGE);
    return db;
  }
}

/** An etcd snapshot as EtcdSnapshot streams it: the database, then the SHA-256 of its bytes. */
export function etcdSnapshot(content: EtcdSnapshotContent = {}): Buffer {
  const db = boltDb(content);
  return Buffer.concat([db, createHash("sha256").update(db).digest()]);
}

/** Reads a protobuf varint at `at`: its value and the offset after it. */
function readVarint(b: Buffer, at: number): [number, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const x = b[at++];
    if (x === undefined) throw new Error("truncated varint");
    v |= BigInt(x & 0x7f) << shift;
    if (x < 0x80) return [Number(v), at];
    shift += 7n;
  }
}

/** Key (field 1) and value (field 5) of an mvccpb.KeyValue. */
function decodeKeyValue(b: Buffer): [string, string] {
  let key = "";
  let value = "";
  for (let at = 0; at < b.length; ) {
    const [tag, next] = readVarint(b, at);
    const [n, after] = readVarint(b, next);
    if ((tag & 7) === 2) {
      const field = b.subarray(after, after + n).toString();
      if (tag >>> 3 === 1) key = field;
      if (tag >>> 3 === 5) value = field;
      at = after + n;
    } else at = after;
  }
  return [key, value];
}

/** The entries of the leaf page `id` (the simulator writes only leaf pages). */
function leafEntries(db: Buffer, id: number): LeafEntry[] {
  const at = id * PAGE;
  if (at + 16 > db.length || (db.readUInt16LE(at + 8) & PAGE_LEAF) === 0)
    throw new Error(`page ${id} is not a leaf page`);
  return Array.from({ length: db.readUInt16LE(at + 10) }, (_, i) => {
    const el = at + 16 + 16 * i;
    const k = el + db.readUInt32LE(el + 4);
    const ks = db.readUInt32LE(el + 8);
    return {
      key: db.subarray(k, k + ks),
      value: db.subarray(k + ks, k + ks + db.readUInt32LE(el + 12)),
      bucket: (db.readUInt32LE(el) & BUCKET_LEAF) !== 0,
    };
  });
}

/**
 * Restores what a snapshot holds, checking it as etcd's restore does: the
 * SHA-256 trailer (unless `skipHashCheck`, which also accepts a file without
 * one), then bbolt's meta page. Throws an Error saying what is wrong.
 */
export function readEtcdSnapshot(
  file: Uint8Array,
  skipHashCheck = false,
): { keys: Record<string, string> } {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const hasHash = buf.length % 512 === SHA256_BYTES;
  if (!hasHash && !skipHashCheck) throw new Error("snapshot missing hash but hash check is on");
  const db = hasHash ? buf.subarray(0, buf.length - SHA256_BYTES) : buf;
  if (hasHash && !skipHashCheck) {
    const want = buf.subarray(buf.length - SHA256_BYTES);
    if (!createHash("sha256").update(db).digest().equals(want))
      throw new Error("snapshot hash mismatch: the file is corrupted");
  }
  const m = 16;
  if (db.length < PAGE || db.readUInt32LE(m) !== BOLT_MAGIC)
    throw new Error("not a bbolt database");
  if (db.readBigUInt64LE(m + 56) !== fnv64a(db.subarray(m, m + 56)))
    throw new Error("bbolt meta page checksum mismatch");
  const root = Number(db.readBigUInt64LE(m + 16));
  const bucket = leafEntries(db, root).find((e) => e.bucket && e.key.toString() === "key");
  const keys: Record<string, string> = {};
  if (bucket) {
    for (const e of leafEntries(db, Number(bucket.value.readBigUInt64LE(0)))) {
      const [k, v] = decodeKeyValue(e.value);
      keys[k] = v;
    }
  }
  return { keys };
}
