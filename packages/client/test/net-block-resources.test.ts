// LinkStatus, RouteStatus and VolumeStatus as a Talos 1.14 node serves them
// (pkg/machinery/resources/network and block), read through the client with
// talosctl's names: the types resolve through the nodes' resource definitions.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TalosClient } from "@taloskit/client";
import { type ClusterSimulator, startCluster } from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CP = "10.5.0.2";
const WORKER = "10.5.0.3";
const UKI = "10.5.0.4";
const MAINT = "10.5.0.9";

let sim: ClusterSimulator;
let client: TalosClient;
let dir: string;

beforeAll(async () => {
  sim = await startCluster({
    nodes: [
      { address: CP, role: "controlplane", version: "v1.14.1", profile: "nvidia-hgx-server" },
      { address: WORKER, role: "worker", version: "v1.14.1", profile: "proxmox-vm" },
      { address: UKI, role: "worker", version: "v1.14.1", profile: "intel-nuc", secureBoot: true },
      { address: MAINT, maintenance: true, version: "v1.14.1" },
    ],
  });
  dir = await mkdtemp(join(tmpdir(), "taloskit-netblock-"));
  const path = join(dir, "talosconfig");
  await writeFile(path, sim.talosconfig({ nodes: [CP] }));
  client = await TalosClient.fromTalosconfig({ path });
});
afterAll(async () => {
  client?.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Spec = Record<string, unknown>;
const byId = (rs: { metadata: { id: string }; spec: unknown }[]) =>
  Object.fromEntries(rs.map((r) => [r.metadata.id, r.spec as Spec]));

describe("network and block status resources", () => {
  // network.LinkStatusType, namespace network, aliases link/links, id = link name.
  it("links: loopback and the Ethernet link, described by the profile's NIC", async () => {
    const rs = await client.resources.list("links", { node: CP });
    expect(rs.map((r) => [r.metadata.namespace, r.metadata.type])).toEqual([
      ["network", "LinkStatuses.net.talos.dev"],
      ["network", "LinkStatuses.net.talos.dev"],
    ]);
    const links = byId(rs);
    expect(Object.keys(links).sort()).toEqual(["enp1s0", "lo"]);
    expect(links.lo).toMatchObject({
      type: "loopback",
      mtu: 65536,
      flags: "UP,LOOPBACK,RUNNING,LOWER_UP",
    });
    // nvidia-hgx-server carries an Intel X710 (i40e, 10GBASE-T).
    expect(links.enp1s0).toMatchObject({
      type: "ether",
      operationalState: "up",
      linkState: true,
      driver: "i40e",
      vendorID: "8086",
      busPath: "0000:6a:00.0",
      speedMbit: 10000,
      duplex: "Full",
    });
    const eth = rs.find((r) => r.metadata.id === "enp1s0");
    expect(eth?.specSource).toBe("proto");
    const typed = eth?.typedSpec as { hardwareAddr?: Uint8Array; mtu?: number } | undefined;
    expect(typed?.mtu).toBe(1500);
    expect(typed?.hardwareAddr).toHaveLength(6);
    // Each node has its own MAC.
    const other = byId(await client.resources.list("link", { node: WORKER }));
    expect(other.enp1s0?.hardwareAddr).not.toBe(links.enp1s0?.hardwareAddr);
    // A virtio NIC reports no speed.
    expect(other.enp1s0?.speedMbit).toBeUndefined();
  });

  // network.RouteStatusType, namespace network, aliases route/routes; ids from RouteID.
  it("routes: default via the subnet's first host, the subnet, and the local table", async () => {
    const rs = await client.resources.list("routes", { node: WORKER });
    expect(new Set(rs.map((r) => r.metadata.type))).toEqual(
      new Set(["RouteStatuses.net.talos.dev"]),
    );
    const routes = byId(rs);
    expect(Object.keys(routes).sort()).toEqual([
      "inet4//10.5.0.0/24/1024",
      "inet4/10.5.0.1//1024",
      "local/inet4//10.5.0.255/32/0",
      "local/inet4//10.5.0.3/32/0",
      "local/inet4//127.0.0.0/8/0",
      "local/inet4//127.0.0.1/32/0",
    ]);
    expect(routes["inet4/10.5.0.1//1024"]).toMatchObject({
      gateway: "10.5.0.1",
      dst: "",
      src: "10.5.0.3",
      outLinkName: "enp1s0",
      table: "main",
      priority: 1024,
    });
    const typed = rs.find((r) => r.metadata.id === "inet4//10.5.0.0/24/1024")?.typedSpec as
      | { destination?: { ip: Uint8Array; prefixLength: number } }
      | undefined;
    expect([...(typed?.destination?.ip ?? [])]).toEqual([10, 5, 0, 0]);
    expect(typed?.destination?.prefixLength).toBe(24);
  });

  // block.VolumeStatusType, namespace runtime (block's namespace), no aliases of its own.
  it("volumestatus: META, STATE, EPHEMERAL on the system disk and directories on EPHEMERAL", async () => {
    const rs = await client.resources.list("volumestatus", { node: CP });
    expect(new Set(rs.map((r) => `${r.metadata.namespace}/${r.metadata.type}`))).toEqual(
      new Set(["runtime/VolumeStatuses.block.talos.dev"]),
    );
    const v = byId(rs);
    expect(v.STATE).toMatchObject({
      phase: "ready",
      type: "partition",
      location: "/dev/nvme0n1p5",
      filesystem: "xfs",
      prettySize: "105 MB",
      mountSpec: { targetPath: "/system/state" },
    });
    expect(v.META).toMatchObject({ location: "/dev/nvme0n1p4", prettySize: "1.0 MB" });
    expect(v["/var/lib/etcd"]).toMatchObject({ type: "directory", parentID: "EPHEMERAL" });
    // Workers run no etcd; Secure Boot (UKI) installs have no BIOS/BOOT partitions.
    const worker = byId(await client.resources.list("volumestatuses", { node: WORKER }));
    expect(worker["/var/lib/etcd"]).toBeUndefined();
    const uki = byId(await client.resources.list("VolumeStatuses.block.talos.dev", { node: UKI }));
    expect(String(uki.STATE?.location)).toMatch(/3$/);
    // Nothing is installed on a node in maintenance mode: its volumes wait.
    const maint = byId(await client.resources.list("volumestatus", { node: MAINT }));
    expect(Object.values(maint).map((s) => s.phase)).toEqual(["waiting", "waiting", "waiting"]);
  });

  it("definitions: namespaces and aliases as Talos registers them", async () => {
    const rds = byId(await client.resources.list("rd", { node: CP }));
    expect(rds["linkstatuses.net.talos.dev"]).toMatchObject({
      defaultNamespace: "network",
      aliases: ["link", "links"],
    });
    expect(rds["routestatuses.net.talos.dev"]).toMatchObject({ aliases: ["route", "routes"] });
    expect(rds["volumestatuses.block.talos.dev"]).toMatchObject({
      defaultNamespace: "runtime",
      aliases: [],
    });
    expect(rds["volumestatuses.block.talos.dev"]?.allAliases).toContain("volumestatus");
  });
});
