// Specs of the network link and route statuses and the block volume statuses a
// simulated node serves, derived from its state (hardware profile, address,
// install layout). Field names and enum spellings follow Talos 1.14's resources.
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { VolumeStatusSpecSchema } from "@taloskit/api/resources/block";
import {
  BlockFilesystemType,
  BlockVolumePhase,
  BlockVolumeType,
  NethelpersDuplex,
  NethelpersFamily,
  NethelpersLinkType,
  NethelpersOperationalState,
  NethelpersPort,
  NethelpersRouteProtocol,
  NethelpersRouteType,
  NethelpersRoutingTable,
  NethelpersScope,
} from "@taloskit/api/resources/enums";
import { LinkStatusSpecSchema, RouteStatusSpecSchema } from "@taloskit/api/resources/network";
import { stringify } from "yaml";
import type { SimNodeState } from "./state.js";

/** One built item: id, protobuf spec and YAML spec. */
export interface SpecItem {
  id: string;
  proto: Uint8Array;
  yaml: string;
}

/** The node's first network link, as AddressStatus names it too. */
export const PRIMARY_LINK = { name: "enp1s0", index: 2 };

function enc<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

function ipv4(a: string): number[] | undefined {
  const parts = a.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255))
    return undefined;
  return parts;
}

/** FNV-1a over the whole string, then stretched into `n` bytes (for stable MACs and UUIDs). */
function hashBytes(seed: string, n: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619) >>> 0;
  const out: number[] = [];
  for (let i = 0; out.length < n; i++) {
    h = Math.imul(h ^ (i + 1), 16777619) >>> 0;
    out.push((h >>> 8) & 0xff);
  }
  return out;
}

const hex = (b: number[], sep = "") => b.map((x) => x.toString(16).padStart(2, "0")).join(sep);

function uuid(seed: string): string {
  const b = hashBytes(seed, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Link flags (IFF_*) as Talos names them.
const FLAG = {
  UP: 1,
  BROADCAST: 2,
  LOOPBACK: 8,
  RUNNING: 0x40,
  MULTICAST: 0x1000,
  LOWER_UP: 0x10000,
};
type FlagName = keyof typeof FLAG;
const flagBits = (names: FlagName[]) => names.reduce((a, n) => a | FLAG[n], 0);

/** Link speed in Mbit/s from the NIC's product name (virtual NICs report none). */
function speedOf(product: string, driver: string): number | undefined {
  if (/virtio|vmxnet|netvsc|ena/i.test(driver)) return undefined;
  const gig = [...product.matchAll(/(\d+)\s*G(?:b|BASE|bE|igabit)/gi)].map((m) => Number(m[1]));
  return gig.length > 0 ? Math.max(...gig) * 1000 : 1000;
}

/** LinkStatuses: loopback and the node's Ethernet link, described by its NIC. */
export function linkStatuses(s: SimNodeState, address: string): SpecItem[] {
  const zero = [0, 0, 0, 0, 0, 0];
  const loFlags: FlagName[] = ["UP", "LOOPBACK", "RUNNING", "LOWER_UP"];
  const lo: SpecItem = {
    id: "lo",
    proto: enc(LinkStatusSpecSchema, {
      index: 1,
      type: NethelpersLinkType.LINK_LOOPBCK,
      flags: flagBits(loFlags),
      hardwareAddr: Uint8Array.from(zero),
      broadcastAddr: Uint8Array.from(zero),
      mtu: 65536,
      queueDisc: "noqueue",
      operationalState: NethelpersOperationalState.OPER_STATE_UNKNOWN,
      port: NethelpersPort.OTHER,
      duplex: NethelpersDuplex.UNKNOWN,
    }),
    yaml: stringify({
      index: 1,
      type: "loopback",
      linkIndex: 0,
      flags: loFlags.join(","),
      hardwareAddr: hex(zero, ":"),
      permanentAddr: "",
      broadcastAddr: hex(zero, ":"),
      mtu: 65536,
      queueDisc: "noqueue",
      operationalState: "unknown",
      kind: "",
      slaveKind: "",
      linkState: false,
      port: "Other",
      duplex: "Unknown",
    }),
  };

  const nic = s.profile.pciDevices.find((d) => d.subclass === "Ethernet controller");
  const mac = [0x02, ...hashBytes(`${s.hostname}/${address}`, 5)];
  const bcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  const speed = nic ? speedOf(nic.product, nic.driver) : 1000;
  const pciId = nic
    ? `${nic.vendorId.replace(/^0x/, "")}:${nic.productId.replace(/^0x/, "")}`.toUpperCase()
    : "";
  const ethFlags: FlagName[] = ["UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP"];
  const info = {
    busPath: nic?.id ?? "",
    pciID: pciId,
    driver: nic?.driver ?? "",
    productID: nic?.productId.replace(/^0x/, "") ?? "",
    vendorID: nic?.vendorId.replace(/^0x/, "") ?? "",
    product: nic?.product ?? "",
    vendor: nic?.vendor ?? "",
  };
  const eth: SpecItem = {
    id: PRIMARY_LINK.name,
    proto: enc(LinkStatusSpecSchema, {
      index: PRIMARY_LINK.index,
      type: NethelpersLinkType.LINK_ETHER,
      flags: flagBits(ethFlags),
      hardwareAddr: Uint8Array.from(mac),
      permanentAddr: Uint8Array.from(mac),
      broadcastAddr: Uint8Array.from(bcast),
      mtu: 1500,
      queueDisc: "fq_codel",
      operationalState: NethelpersOperationalState.OPER_STATE_UP,
      busPath: info.busPath,
      pciid: info.pciID,
      driver: info.driver,
      productId: info.productID,
      vendorId: info.vendorID,
      product: info.product,
      vendor: info.vendor,
      linkState: true,
      speedMegabits: BigInt(speed ?? 0),
      port: NethelpersPort.TWISTED_PAIR,
      duplex: speed === undefined ? NethelpersDuplex.UNKNOWN : NethelpersDuplex.FULL,
    }),
    yaml: stringify({
      index: PRIMARY_LINK.index,
      type: "ether",
      linkIndex: 0,
      flags: ethFlags.join(","),
      hardwareAddr: hex(mac, ":"),
      permanentAddr: hex(mac, ":"),
      broadcastAddr: hex(bcast, ":"),
      mtu: 1500,
      queueDisc: "fq_codel",
      operationalState: "up",
      kind: "",
      slaveKind: "",
      ...Object.fromEntries(Object.entries(info).filter(([, v]) => v !== "")),
      linkState: true,
      ...(speed !== undefined ? { speedMbit: speed } : {}),
      port: "TwistedPair",
      duplex: speed === undefined ? "Unknown" : "Full",
    }),
  };
  return [lo, eth];
}

interface Route {
  table: "main" | "local";
  dst?: { ip: number[]; bits: number };
  src?: number[];
  gateway?: number[];
  link: string;
  linkIndex: number;
  priority: number;
  scope: "global" | "link" | "host";
  type: "unicast" | "local" | "broadcast";
  protocol: "static" | "kernel";
}

const SCOPE = {
  global: NethelpersScope.SCOPE_GLOBAL,
  link: NethelpersScope.SCOPE_LINK,
  host: NethelpersScope.SCOPE_HOST,
};
const RTYPE = {
  unicast: NethelpersRouteType.TYPE_UNICAST,
  local: NethelpersRouteType.TYPE_LOCAL,
  broadcast: NethelpersRouteType.TYPE_BROADCAST,
};
const PROTO = {
  static: NethelpersRouteProtocol.PROTOCOL_STATIC,
  kernel: NethelpersRouteProtocol.PROTOCOL_KERNEL,
};

/** RouteStatuses: the default route through the subnet's first host, the subnet and local routes. */
export function routeStatuses(address: string): SpecItem[] {
  const loIp = [127, 0, 0, 1];
  const routes: Route[] = [
    {
      table: "local",
      dst: { ip: [127, 0, 0, 0], bits: 8 },
      src: loIp,
      link: "lo",
      linkIndex: 1,
      priority: 0,
      scope: "host",
      type: "local",
      protocol: "kernel",
    },
    {
      table: "local",
      dst: { ip: loIp, bits: 32 },
      src: loIp,
      link: "lo",
      linkIndex: 1,
      priority: 0,
      scope: "host",
      type: "local",
      protocol: "kernel",
    },
  ];
  const own = ipv4(address);
  if (own) {
    const net = [own[0] ?? 0, own[1] ?? 0, own[2] ?? 0, 0];
    const link = { link: PRIMARY_LINK.name, linkIndex: PRIMARY_LINK.index };
    routes.push(
      {
        table: "main",
        gateway: [net[0] ?? 0, net[1] ?? 0, net[2] ?? 0, 1],
        src: own,
        ...link,
        priority: 1024,
        scope: "global",
        type: "unicast",
        protocol: "static",
      },
      {
        table: "main",
        dst: { ip: net, bits: 24 },
        src: own,
        ...link,
        priority: 1024,
        scope: "link",
        type: "unicast",
        protocol: "kernel",
      },
      {
        table: "local",
        dst: { ip: own, bits: 32 },
        src: own,
        ...link,
        priority: 0,
        scope: "host",
        type: "local",
        protocol: "kernel",
      },
      {
        table: "local",
        dst: { ip: [net[0] ?? 0, net[1] ?? 0, net[2] ?? 0, 255], bits: 32 },
        src: own,
        ...link,
        priority: 0,
        scope: "link",
        type: "broadcast",
        protocol: "kernel",
      },
    );
  }
  return routes.map((r) => {
    const dst = r.dst ? `${r.dst.ip.join(".")}/${r.dst.bits}` : "";
    const gw = r.gateway ? r.gateway.join(".") : "";
    // Talos keys a route by table (unless main), family, gateway, destination and metric.
    const id = `${r.table === "main" ? "" : `${r.table}/`}inet4/${gw}/${dst}/${r.priority}`;
    return {
      id,
      proto: enc(RouteStatusSpecSchema, {
        family: NethelpersFamily.FAMILY_INET4,
        destination: r.dst
          ? { ip: Uint8Array.from(r.dst.ip), prefixLength: r.dst.bits }
          : undefined,
        source: r.src ? { ip: Uint8Array.from(r.src) } : undefined,
        gateway: r.gateway ? { ip: Uint8Array.from(r.gateway) } : undefined,
        outLinkIndex: r.linkIndex,
        outLinkName: r.link,
        table:
          r.table === "main"
            ? NethelpersRoutingTable.TABLE_MAIN
            : NethelpersRoutingTable.TABLE_LOCAL,
        priority: r.priority,
        scope: SCOPE[r.scope],
        type: RTYPE[r.type],
        flags: 0,
        protocol: PROTO[r.protocol],
      }),
      yaml: stringify({
        family: "inet4",
        dst,
        src: r.src ? r.src.join(".") : "",
        gateway: gw,
        outLinkIndex: r.linkIndex,
        outLinkName: r.link,
        table: r.table,
        priority: r.priority,
        scope: r.scope,
        type: r.type,
        flags: "",
        protocol: r.protocol,
      }),
    };
  });
}

/** Sizes the way Talos prints them (SI units, one decimal below 10). */
export function siBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  const e = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1000)));
  const v = n / 1000 ** e;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[e]}`;
}

const MiB = 1024 * 1024;

/**
 * VolumeStatuses: META, STATE and EPHEMERAL partitions of the system disk (the
 * UKI layout without BIOS/BOOT partitions on Secure Boot nodes), and directory
 * volumes on EPHEMERAL. Unconfigured (maintenance) nodes have nothing installed:
 * their volumes wait.
 */
export function volumeStatuses(s: SimNodeState): SpecItem[] {
  const disk = s.profile.disks[0];
  if (s.maintenance || !disk) {
    return ["EPHEMERAL", "META", "STATE"].map((id) => ({
      id,
      proto: enc(VolumeStatusSpecSchema, {
        phase: BlockVolumePhase.VOLUME_PHASE_WAITING,
        type: BlockVolumeType.VOLUME_TYPE_PARTITION,
      }),
      yaml: stringify({ phase: "waiting", type: "partition" }),
    }));
  }
  const dev = `/dev/${disk.id}`;
  const part = (n: number) => `${dev}${/\d$/.test(disk.id) ? "p" : ""}${n}`;
  const first = s.secureBoot ? 2 : 4;
  const meta = MiB;
  const state = 100 * MiB;
  const reserved = (s.secureBoot ? 1024 : 1024 + 1 + 1000) * MiB;
  const ephemeral = Math.max(0, disk.sizeBytes - reserved - meta - state - MiB);
  const parts = [
    { id: "META", n: first, size: meta, fs: "none", mount: "" },
    { id: "STATE", n: first + 1, size: state, fs: "xfs", mount: "/system/state" },
    { id: "EPHEMERAL", n: first + 2, size: ephemeral, fs: "xfs", mount: "/var" },
  ];
  const FS: Record<string, BlockFilesystemType> = {
    none: BlockFilesystemType.FILESYSTEM_TYPE_NONE,
    xfs: BlockFilesystemType.FILESYSTEM_TYPE_XFS,
  };
  const out: SpecItem[] = parts.map((p) => {
    const location = part(p.n);
    const fsUuid = p.fs === "none" ? "" : uuid(`${s.hostname}/${p.id}/fs`);
    const partUuid = uuid(`${s.hostname}/${p.id}/part`);
    const mountSpec = p.mount
      ? { targetPath: p.mount, selinuxLabel: "", projectQuotaSupport: p.id === "EPHEMERAL" }
      : undefined;
    return {
      id: p.id,
      proto: enc(VolumeStatusSpecSchema, {
        phase: BlockVolumePhase.VOLUME_PHASE_READY,
        type: BlockVolumeType.VOLUME_TYPE_PARTITION,
        location,
        mountLocation: location,
        partitionIndex: BigInt(p.n),
        parentLocation: dev,
        uuid: fsUuid,
        partitionUuid: partUuid,
        size: BigInt(p.size),
        prettySize: siBytes(p.size),
        filesystem: FS[p.fs],
        mountSpec,
      }),
      yaml: stringify({
        phase: "ready",
        type: "partition",
        location,
        mountLocation: location,
        partitionIndex: p.n,
        parentLocation: dev,
        ...(fsUuid ? { uuid: fsUuid } : {}),
        partitionUUID: partUuid,
        size: p.size,
        prettySize: siBytes(p.size),
        ...(p.fs !== "none" ? { filesystem: p.fs } : {}),
        ...(mountSpec ? { mountSpec } : {}),
      }),
    };
  });
  const dirs = ["/var/lib", "/var/log", "/var/lib/etcd", "/var/lib/kubelet"].filter(
    (d) => d !== "/var/lib/etcd" || s.role === "controlplane",
  );
  for (const d of dirs) {
    const mountSpec = {
      targetPath: d,
      selinuxLabel: "",
      projectQuotaSupport: false,
      parentId: "EPHEMERAL",
    };
    out.push({
      id: d,
      proto: enc(VolumeStatusSpecSchema, {
        phase: BlockVolumePhase.VOLUME_PHASE_READY,
        type: BlockVolumeType.VOLUME_TYPE_DIRECTORY,
        parentId: "EPHEMERAL",
        mountSpec,
      }),
      yaml: stringify({ phase: "ready", type: "directory", parentID: "EPHEMERAL", mountSpec }),
    });
  }
  return out;
}
