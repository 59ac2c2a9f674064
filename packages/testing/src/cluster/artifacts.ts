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

const PAGE = 4096;
const BOLT_MAGIC = 0xed0cdaed;
const BOLT_VERSION = 2;
const PAGE_META = 0x04;
const PAGE_LEAF = 0x02;
const PAGE_FREELIST = 0x10;
const BUCKET_LEAF = 0x01;

/** FNV-1a, 64 bits (bbolt's meta page checksum). */
function fnv64a(b: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const x of b) {
    h ^= BigInt(x);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/**
 * An empty bbolt database as bbolt lays out a new file: two meta pages
 * (transactions 0 and 1), an empty freelist page and the empty leaf page of
 * the root bucket.
 */
function emptyBoltDb(): Buffer {
  const db = Buffer.alloc(4 * PAGE);
  const header = (id: number, flags: number) => {
    const at = id * PAGE;
    db.writeBigUInt64LE(BigInt(id), at);
    db.writeUInt16LE(flags, at + 8);
    db.writeUInt16LE(0, at + 10); // count
    db.writeUInt32LE(0, at + 12); // overflow
    return at + 16;
  };
  for (const id of [0, 1]) {
    const m = header(id, PAGE_META);
    db.writeUInt32LE(BOLT_MAGIC, m);
    db.writeUInt32LE(BOLT_VERSION, m + 4);
    db.writeUInt32LE(PAGE, m + 8);
    db.writeUInt32LE(0, m + 12); // flags
    db.writeBigUInt64LE(3n, m + 16); // root bucket page
    db.writeBigUInt64LE(0n, m + 24); // root bucket sequence
    db.writeBigUInt64LE(2n, m + 32); // freelist page
    db.writeBigUInt64LE(4n, m + 40); // high-water page id
    db.writeBigUInt64LE(BigInt(id), m + 48); // txid
    db.writeBigUInt64LE(fnv64a(db.subarray(m, m + 56)), m + 56);
  }
  header(2, PAGE_FREELIST);
  // The root bucket holds one empty inline bucket, "meta", which etcd always has
  // (etcdutl reads the storage version from it).
  const leaf = header(3, PAGE_LEAF);
  db.writeUInt16LE(1, 3 * PAGE + 10); // count
  const key = Buffer.from("meta");
  db.writeUInt32LE(BUCKET_LEAF, leaf); // element flags
  db.writeUInt32LE(16, leaf + 4); // key offset from the element
  db.writeUInt32LE(key.length, leaf + 8);
  db.writeUInt32LE(32, leaf + 12); // value: bucket header and an empty inline leaf page
  key.copy(db, leaf + 16);
  const inline = leaf + 16 + key.length + 16;
  db.writeUInt16LE(PAGE_LEAF, inline + 8);
  return db;
}

/** An etcd snapshot as EtcdSnapshot streams it: the database, then the SHA-256 of its bytes. */
export function etcdSnapshot(): Buffer {
  const db = emptyBoltDb();
  return Buffer.concat([db, createHash("sha256").update(db).digest()]);
}
