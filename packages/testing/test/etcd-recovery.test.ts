// The simulator's etcd snapshot and recovery over real gRPC/TLS, as Talos
// behaves: EtcdSnapshot streams a bbolt database in etcd's layout (the
// member's keys in the `key` bucket, free pages up to the reported db size)
// followed by its SHA-256; EtcdRecover stores an upload as it is; Bootstrap
// with recover_etcd restores it only when etcdutl's restore would (hash
// trailer checked unless recover_skip_hash_check), and refuses otherwise with
// the node left waiting for bootstrap (Talos: machined's EtcdRecover writes
// the upload to its recovery path; Bootstrap hands recover_etcd and
// recover_skip_hash_check to the etcd service's restore).
import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { MachineService } from "@taloskit/api/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdSnapshot, readEtcdSnapshot } from "../src/cluster/artifacts.js";
import { type ClusterSimulator, startCluster } from "../src/index.js";
import { makeClient, md, stream, unary } from "./helpers.js";

const M = MachineService.method;
const CP = "10.5.0.2";
const FRESH = "10.5.0.3";
const KEYS = { "/registry/a": "1", "/registry/b": "two" };

let sim: ClusterSimulator;
let admin: grpc.Client;

beforeAll(async () => {
  sim = await startCluster({
    nodes: [
      { address: CP, role: "controlplane" },
      { address: FRESH, role: "controlplane" },
    ],
  });
  admin = makeClient(sim.endpoint, sim.pki);
});
afterAll(async () => {
  admin.close();
  await sim.close();
});

/** EtcdRecover: uploads `bytes` in chunks as one client stream. */
function recover(bytes: Buffer, node: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = admin.makeClientStreamRequest(
      `/${M.etcdRecover.parent.typeName}/${M.etcdRecover.name}`,
      (v: Buffer) => v,
      (b: Buffer) => b,
      md(node),
      (err) => (err ? reject(err) : resolve()),
    );
    for (let i = 0; i < bytes.length; i += 64 * 1024) {
      const chunk = bytes.subarray(i, i + 64 * 1024);
      call.write(
        Buffer.from(toBinary(M.etcdRecover.input, create(M.etcdRecover.input, { bytes: chunk }))),
      );
    }
    call.end();
  });
}

/** A control plane wiped and waiting for bootstrap: no member, no data. */
function wipe(node: string) {
  const st = sim.node(node).state;
  st.etcd = undefined;
  st.etcdBootstrapped = false;
}

describe("EtcdSnapshot", () => {
  it("streams the member's keys in a database of its reported size, then the SHA-256", async () => {
    const e = sim.node(CP).state.etcd as NonNullable<(typeof sim.nodes)[number]["state"]["etcd"]>;
    e.keys = { ...KEYS };
    e.dbSize = 100_000n;
    const msgs = await stream<{ bytes: Uint8Array }>(admin, M.etcdSnapshot, {}, md(CP));
    const file = Buffer.concat(msgs.map((m) => m.bytes));
    const pages = Math.ceil(100_000 / 4096);
    expect(file.length).toBe(pages * 4096 + 32);
    const db = file.subarray(0, file.length - 32);
    expect(file.subarray(file.length - 32)).toEqual(createHash("sha256").update(db).digest());
    // bbolt's meta page: magic, version 2, high-water mark = the page count.
    expect(db.readUInt32LE(16)).toBe(0xed0cdaed);
    expect(db.readUInt32LE(20)).toBe(2);
    expect(db.readBigUInt64LE(16 + 40)).toBe(BigInt(pages));
    expect(readEtcdSnapshot(file).keys).toEqual(KEYS);
  });

  it("the damage fault truncates or corrupts the stream, which still ends normally", async () => {
    const whole = Buffer.concat(
      (await stream<{ bytes: Uint8Array }>(admin, M.etcdSnapshot, {}, md(CP))).map((m) => m.bytes),
    );
    try {
      sim.faults.etcdSnapshotDamage(CP, "truncate");
      const cut = Buffer.concat(
        (await stream<{ bytes: Uint8Array }>(admin, M.etcdSnapshot, {}, md(CP))).map(
          (m) => m.bytes,
        ),
      );
      expect(cut.length).toBe(whole.length >> 1);
      expect(() => readEtcdSnapshot(cut)).toThrow(/missing hash/);
      sim.faults.etcdSnapshotDamage(CP, "corrupt");
      const bad = Buffer.concat(
        (await stream<{ bytes: Uint8Array }>(admin, M.etcdSnapshot, {}, md(CP))).map(
          (m) => m.bytes,
        ),
      );
      expect(bad.length).toBe(whole.length);
      expect(() => readEtcdSnapshot(bad)).toThrow(/hash mismatch/);
    } finally {
      sim.faults.etcdSnapshotDamage(CP, null);
    }
  });
});

describe("EtcdRecover, then Bootstrap with recover_etcd", () => {
  it("restores the snapshot's keys into a new member and removes the upload", async () => {
    wipe(FRESH);
    await recover(etcdSnapshot({ keys: KEYS, dbSize: 50_000n }), FRESH);
    await unary(admin, M.bootstrap, { recoverEtcd: true }, md(FRESH));
    const st = sim.node(FRESH).state;
    expect(st.etcdBootstrapped).toBe(true);
    expect(st.etcd?.keys).toEqual(KEYS);
    expect(st.files.has("/var/lib/etcd.snapshot")).toBe(false);
    // The new member serves EtcdStatus.
    await expect(unary(admin, M.etcdStatus, {}, md(FRESH))).resolves.toBeDefined();
  });

  it("refuses a corrupted snapshot and one without its hash, leaving the node waiting", async () => {
    const good = etcdSnapshot({ keys: KEYS });
    const corrupted = Buffer.from(good);
    corrupted[5000] = (corrupted[5000] ?? 0) ^ 0xff;
    const noHash = good.subarray(0, good.length - 32);
    for (const [bytes, why] of [
      [corrupted, /hash mismatch/],
      [noHash, /missing hash/],
    ] as const) {
      wipe(FRESH);
      await recover(bytes, FRESH);
      await expect(
        unary(admin, M.bootstrap, { recoverEtcd: true }, md(FRESH)),
      ).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringMatching(why),
      });
      expect(sim.node(FRESH).state.etcd).toBeUndefined();
      expect(sim.node(FRESH).state.etcdBootstrapped).toBe(false);
    }
    // recover_skip_hash_check accepts the database without its trailer (etcdutl's --skip-hash-check).
    await unary(admin, M.bootstrap, { recoverEtcd: true, recoverSkipHashCheck: true }, md(FRESH));
    expect(sim.node(FRESH).state.etcd?.keys).toEqual(KEYS);
  });

  it("without an upload, a recovery bootstrap is refused", async () => {
    wipe(FRESH);
    await expect(unary(admin, M.bootstrap, { recoverEtcd: true }, md(FRESH))).rejects.toMatchObject(
      {
        code: grpc.status.FAILED_PRECONDITION,
        details: expect.stringMatching(/no etcd snapshot was uploaded/),
      },
    );
  });
});
