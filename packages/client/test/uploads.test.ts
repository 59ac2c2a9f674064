// Client-streaming uploads through the client, the router and the node over
// real TLS: EtcdRecover and ImageService.Import deliver every byte intact,
// pull from the source only as fast as the node takes the data, and leave
// nothing behind on the node when they are aborted or their source fails.
import { createHash, randomBytes } from "node:crypto";
import { ContainerdNamespace } from "@taloskit/api/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TalosClient, TalosError } from "../src/index.js";
import { type ClusterSimulator, type SimWithClients, startSimWithClients } from "./helpers/sim.js";
import { until } from "./helpers/until.js";

const CP = "10.5.0.2";
const WORKER = "10.5.0.3";
const MiB = 1024 * 1024;
let env: SimWithClients<"admin" | "reader">;
let sim: ClusterSimulator;
let admin: TalosClient;
let reader: TalosClient;

beforeAll(async () => {
  env = await startSimWithClients(
    {
      nodes: [
        { address: CP, role: "controlplane", version: "v1.14.0" },
        { address: WORKER, role: "worker", version: "v1.14.0" },
      ],
    },
    { admin: { roles: ["os:admin"] }, reader: { roles: ["os:reader"] } },
  );
  ({ sim } = env);
  ({ admin, reader } = env.clients);
});
afterAll(async () => {
  await env?.close();
});

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Splits a buffer into chunks of uneven sizes, so that chunk borders move around. */
function* unevenChunks(data: Uint8Array): Generator<Uint8Array> {
  const sizes = [1, 4095, 65_537, 300_000, 2 * MiB + 3];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length] ?? 1;
    yield data.subarray(off, off + n);
    off += n;
  }
}

const images = async (node: string) => {
  const names: string[] = [];
  for await (const img of admin.at(node).image.list({})) names.push(img.name);
  return names;
};

describe("EtcdRecover", () => {
  it("delivers the snapshot byte for byte", async () => {
    const snapshot = randomBytes(3 * MiB + 17);
    const before = sim.node(CP).uploads.completed.length;
    await admin.streams.etcdRecover(unevenChunks(snapshot), { node: CP });
    const done = sim.node(CP).uploads.completed;
    expect(done.length).toBe(before + 1);
    expect(done.at(-1)).toEqual({
      rpc: "EtcdRecover",
      bytes: snapshot.length,
      sha256: sha256(snapshot),
    });
  });

  it("bad input and roles give typed errors that say what is wrong", async () => {
    const worker = await admin.streams
      .etcdRecover([randomBytes(10)], { node: WORKER })
      .catch((e) => e);
    expect(worker).toBeInstanceOf(TalosError);
    expect(worker.code).toBe("FAILED_PRECONDITION");
    expect(worker.node).toBe(WORKER);
    expect(worker.message).toMatch(/etcd is not running/);

    const empty = await admin.streams.etcdRecover([], { node: CP }).catch((e) => e);
    expect(empty.code).toBe("INVALID_ARGUMENT");
    expect(empty.message).toMatch(/snapshot is empty/);

    const denied = await reader.streams
      .etcdRecover([randomBytes(10)], { node: CP })
      .catch((e) => e);
    expect(denied.code).toBe("PERMISSION_DENIED");
    expect(denied.message).toMatch(/EtcdRecover on node 10\.5\.0\.2 was denied/);
  });
});

describe("ImageService.Import", () => {
  it("registers the image under a name derived from the bytes that arrived", async () => {
    const tarball = randomBytes(5 * MiB + 1);
    const res = await admin.streams.importImage(
      unevenChunks(tarball),
      { namespace: ContainerdNamespace.NS_CRI },
      { node: WORKER },
    );
    expect(res.name).toBe(`import.sim.local/image@sha256:${sha256(tarball)}`);
    expect(sim.node(WORKER).uploads.completed.at(-1)).toMatchObject({
      rpc: "Import",
      bytes: tarball.length,
      sha256: sha256(tarball),
    });
    expect(await images(WORKER)).toContain(res.name);
  });

  it("a request without the containerd instance first is refused by name", async () => {
    const err = await admin
      .at(WORKER)
      .image.import(
        (async function* () {
          yield { request: { case: "imageChunk" as const, value: { bytes: randomBytes(8) } } };
        })(),
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(TalosError);
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/first message must name the containerd instance/);
  });

  it("a large upload is pulled from its source only as fast as the node takes it", async () => {
    const chunk = randomBytes(MiB);
    const total = 32;
    const node = sim.node(WORKER);
    const start = node.uploads.bytesReceived;
    let pulled = 0;
    let maxLead = 0;
    const hash = createHash("sha256");
    const source = (async function* () {
      for (let i = 0; i < total; i++) {
        // How far the source runs ahead of what the node has consumed.
        maxLead = Math.max(maxLead, pulled - (node.uploads.bytesReceived - start));
        pulled += chunk.length;
        hash.update(chunk);
        yield chunk;
      }
    })();
    const res = await admin.streams.importImage(source, {}, { node: WORKER });
    expect(res.name).toBe(`import.sim.local/image@sha256:${hash.digest("hex")}`);
    expect(node.uploads.bytesReceived - start).toBe(total * MiB);
    // Without backpressure the whole upload would be read at once; flow-control
    // windows and socket buffers on the way allow a bounded lead only.
    expect(maxLead).toBeLessThan(16 * MiB);
  });

  it("an aborted upload fails with CANCELED and leaves no image behind", async () => {
    const node = sim.node(WORKER);
    const imagesBefore = await images(WORKER);
    const completedBefore = node.uploads.completed.length;
    const discardedBefore = node.uploads.discarded;
    const start = node.uploads.bytesReceived;
    const ac = new AbortController();
    const source = (async function* () {
      for (let i = 0; ; i++) {
        yield randomBytes(256 * 1024);
        // Abort once the node holds part of the upload, mid-way.
        if (i === 3) {
          await until(() => node.uploads.bytesReceived > start);
          ac.abort(new Error("operator stopped the import"));
        }
      }
    })();
    const err = await admin.streams
      .importImage(source, {}, { node: WORKER, signal: ac.signal })
      .catch((e) => e);
    expect(err).toBeInstanceOf(TalosError);
    expect(err.code).toBe("CANCELED");
    expect(err.node).toBe(WORKER);
    // The node has seen the cancellation once it counts the upload as discarded.
    await until(
      () =>
        node.uploads.discarded > discardedBefore || node.uploads.completed.length > completedBefore,
    );
    expect(node.uploads.completed.length).toBe(completedBefore);
    expect(node.uploads.discarded).toBe(discardedBefore + 1);
    expect(await images(WORKER)).toEqual(imagesBefore);
  });

  it("an EtcdRecover whose source fails records no snapshot", async () => {
    const node = sim.node(CP);
    const completedBefore = node.uploads.completed.length;
    const discardedBefore = node.uploads.discarded;
    const start = node.uploads.bytesReceived;
    const source = (async function* () {
      yield randomBytes(512 * 1024);
      yield randomBytes(512 * 1024);
      await until(() => node.uploads.bytesReceived > start);
      throw new Error("disk read error while reading the snapshot");
    })();
    const err = await admin.streams.etcdRecover(source, { node: CP }).catch((e) => e);
    expect(err).toBeInstanceOf(TalosError);
    expect(err.node).toBe(CP);
    expect(err.message).toMatch(/disk read error/);
    await until(
      () =>
        node.uploads.discarded > discardedBefore || node.uploads.completed.length > completedBefore,
    );
    expect(node.uploads.completed.length).toBe(completedBefore);
  });
});
