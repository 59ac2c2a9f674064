import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  NamespaceSpecSchema,
  type Resource,
  ResourceDefinitionSpec_Sensitivity,
  ResourceDefinitionSpecSchema,
  ResourceSchema,
} from "@taloskit/api/cosi";
import { DiskSpecSchema } from "@taloskit/api/resources/block";
import { MemberSpecSchema } from "@taloskit/api/resources/cluster";
import {
  MachineConfigSpecSchema,
  MachineType,
  MachineTypeSpecSchema,
} from "@taloskit/api/resources/config";
import {
  MachineType as MachineKind,
  NethelpersFamily,
  NethelpersScope,
} from "@taloskit/api/resources/enums";
import { MemberSpecSchema as EtcdMemberSpecSchema } from "@taloskit/api/resources/etcd";
import { LayerSchema } from "@taloskit/api/resources/extensions";
import {
  CPUCoreSpecSchema,
  MemoryModuleSpecSchema,
  PCIDeviceSpecSchema,
  ProcessorSpecSchema,
  SystemInformationSpecSchema,
} from "@taloskit/api/resources/hardware";
import { KubeletSpecSpecSchema, NodenameSpecSchema } from "@taloskit/api/resources/k8s";
import { AddressStatusSpecSchema, HostnameStatusSpecSchema } from "@taloskit/api/resources/network";
import {
  BootIDSpecSchema,
  ImageFactorySchematicSpecSchema,
  MachineStatusSpecSchema,
  PlatformMetadataSpecSchema,
  SecurityStateSpecSchema,
  VersionSpecSchema,
} from "@taloskit/api/resources/runtime";
import { ServiceSpecSchema } from "@taloskit/api/resources/v1alpha1";
import { atLeastMinor } from "@taloskit/core";
import { stringify } from "yaml";
import {
  linkStatuses,
  PRIMARY_LINK,
  routeStatuses,
  volumeStatuses,
} from "./resources-net-block.js";
import type { MachineStage, SimNodeState } from "./state.js";

/** One resource item before it is wrapped in COSI metadata. */
export interface ResourceItem {
  id: string;
  proto: Uint8Array;
  yaml: string;
  annotations?: Record<string, string>;
}

/** A resource type the simulated node serves. */
export interface ResourceType {
  type: string;
  namespace: string;
  displayType: string;
  aliases: string[];
  sensitive: boolean;
  /** First Talos minor line that has this type, e.g. "1.14". */
  since?: string;
  /** The columns its definition asks `talosctl get` to print beside the ID (Talos's own). */
  printColumns?: { name: string; jsonPath: string }[];
  items(s: SimNodeState, version: string, view: NodeView): ResourceItem[];
}

/** Where a node sits: its own address and the nodes of its cluster (itself included). */
export interface NodeView {
  address: string;
  peers: { address: string; state: SimNodeState }[];
}

/** The 4 bytes of an IPv4 address (simulated node addresses are IPv4 or names). */
function ipv4Bytes(a: string): Uint8Array<ArrayBuffer> | undefined {
  const parts = a.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255))
    return undefined;
  return Uint8Array.from(parts);
}

/** A stable, base62-looking cluster node identity derived from the hostname. */
function nodeIdentity(hostname: string): string {
  const abc = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let h = 2166136261;
  let out = "";
  for (let i = 0; out.length < 43; i++) {
    h = Math.imul(h ^ (hostname.charCodeAt(i % Math.max(1, hostname.length)) + i), 16777619) >>> 0;
    out += abc[h % 62];
  }
  return out;
}

/** The first network link of the node: Talos names it after the PCI slot (enp1s0 here). */
const LINK = PRIMARY_LINK;

function enc<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** YAML the way Talos prints specs: empty values left out. */
function y(obj: Record<string, unknown>): string {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) continue;
    clean[k] = v;
  }
  return stringify(clean);
}

const toId = (s: string) => s.trim().replace(/\s+/g, "-");

const STAGE_NUM: Record<MachineStage, number> = {
  unknown: 0,
  booting: 1,
  installing: 2,
  maintenance: 3,
  running: 4,
  rebooting: 5,
  "shutting down": 6,
  resetting: 7,
  upgrading: 8,
};

function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}

/** Every resource type of the simulated node, with how to build its items from state. */
export const resourceTypes: ResourceType[] = [
  {
    type: "SystemInformations.hardware.talos.dev",
    namespace: "hardware",
    displayType: "SystemInformation",
    aliases: ["systeminformation", "sysinfo"],
    sensitive: false,
    items(s, version) {
      const i = s.profile.system;
      if (!i.manufacturer && !i.productName) return [];
      const biosVersion = atLeastMinor(version, "1.14") ? i.biosVersion : "";
      return [
        {
          id: "systeminformation",
          proto: enc(SystemInformationSpecSchema, { ...i, biosVersion }),
          yaml: y({
            manufacturer: i.manufacturer,
            productName: i.productName,
            version: i.version,
            serialnumber: i.serialNumber,
            uuid: i.uuid,
            wakeUpType: i.wakeUpType,
            skuNumber: i.skuNumber,
            biosVersion,
          }),
        },
      ];
    },
  },
  {
    type: "Processors.hardware.talos.dev",
    namespace: "hardware",
    displayType: "Processor",
    aliases: ["processor", "processors", "cpus"],
    sensitive: false,
    items(s) {
      return s.profile.processors.map((p) => ({
        id: toId(p.socket),
        proto: enc(ProcessorSpecSchema, {
          socket: p.socket,
          manufacturer: p.manufacturer,
          productName: p.productName,
          maxSpeed: p.maxSpeedMhz,
          bootSpeed: p.bootSpeedMhz,
          status: 65,
          coreCount: p.coreCount,
          coreEnabled: p.coreCount,
          threadCount: p.threadCount,
        }),
        yaml: y({
          socket: p.socket,
          manufacturer: p.manufacturer,
          productName: p.productName,
          maxSpeedMhz: p.maxSpeedMhz,
          bootSpeedMhz: p.bootSpeedMhz,
          status: 65,
          coreCount: p.coreCount,
          coreEnabled: p.coreCount,
          threadCount: p.threadCount,
        }),
      }));
    },
  },
  {
    type: "CPUCores.hardware.talos.dev",
    namespace: "hardware",
    displayType: "CPUCore",
    aliases: ["cpucore", "cpucores"],
    sensitive: false,
    since: "1.14",
    items(s) {
      const c = s.profile.cpu;
      const sockets = Math.max(1, s.profile.processors.length);
      const cores = s.profile.processors[0]?.coreCount ?? 4;
      const threads = s.profile.processors[0]?.threadCount ?? cores;
      const out: ResourceItem[] = [];
      const perCore = Math.max(1, Math.floor(threads / cores));
      for (let sock = 0; sock < sockets; sock++) {
        for (let core = 0; core < Math.min(cores, 8); core++) {
          const logical = Array.from(
            { length: perCore },
            (_, t) => sock * threads + core + t * cores,
          );
          const spec = {
            socket: String(sock),
            coreId: String(core),
            logicalCpUs: logical,
            vendorId: c.vendorId,
            cpuFamily: c.cpuFamily,
            model: c.model,
            modelName: c.modelName,
            stepping: c.stepping,
            coresPerSocket: cores,
            threadsPerSocket: threads,
            flags: c.flags,
            bogoMips: c.bogoMips,
            addressSizes: c.addressSizes,
          };
          out.push({
            id: `${sock}-${core}`,
            proto: enc(CPUCoreSpecSchema, spec),
            yaml: y({
              socket: spec.socket,
              coreID: spec.coreId,
              logicalCPUs: logical,
              vendorID: c.vendorId,
              cpuFamily: c.cpuFamily,
              model: c.model,
              modelName: c.modelName,
              stepping: c.stepping,
              coresPerSocket: cores,
              threadsPerSocket: threads,
              flags: c.flags,
              bogoMips: c.bogoMips,
              addressSizes: c.addressSizes,
            }),
          });
        }
      }
      return out;
    },
  },
  {
    type: "MemoryModules.hardware.talos.dev",
    namespace: "hardware",
    displayType: "MemoryModule",
    aliases: ["memorymodule", "memorymodules", "ram"],
    sensitive: false,
    items(s) {
      return s.profile.memoryModules.map((m) => ({
        id: m.deviceLocator === "UNKNOWN" ? "UNKNOWN" : toId(`${m.deviceLocator} ${m.bankLocator}`),
        proto: enc(MemoryModuleSpecSchema, {
          size: m.sizeMiB,
          deviceLocator: m.deviceLocator,
          bankLocator: m.bankLocator,
          speed: m.speed,
          manufacturer: m.manufacturer,
          productName: m.productName,
        }),
        yaml: y({
          sizeMiB: m.sizeMiB,
          deviceLocator: m.deviceLocator,
          bankLocator: m.bankLocator,
          speed: m.speed || undefined,
          manufacturer: m.manufacturer,
          productName: m.productName,
        }),
      }));
    },
  },
  {
    type: "PCIDevices.hardware.talos.dev",
    namespace: "hardware",
    displayType: "PCIDevice",
    aliases: ["pcidevice", "pcidevices"],
    sensitive: false,
    items(s) {
      return s.profile.pciDevices.map((d) => ({
        id: d.id,
        proto: enc(PCIDeviceSpecSchema, {
          class: d.class,
          subclass: d.subclass,
          vendor: d.vendor,
          product: d.product,
          classId: d.classId,
          subclassId: d.subclassId,
          vendorId: d.vendorId,
          productId: d.productId,
          driver: d.driver,
        }),
        yaml: y({
          class: d.class,
          subclass: d.subclass,
          vendor: d.vendor,
          product: d.product,
          class_id: d.classId,
          subclass_id: d.subclassId,
          vendor_id: d.vendorId,
          product_id: d.productId,
          driver: d.driver,
        }),
      }));
    },
  },
  {
    type: "Disks.block.talos.dev",
    namespace: "runtime",
    displayType: "Disk",
    aliases: ["disk", "disks"],
    sensitive: false,
    items(s, version) {
      return s.profile.disks.map((d) => {
        const firmwareVersion = atLeastMinor(version, "1.14") ? "1.0" : "";
        const common = {
          devPath: `/dev/${d.id}`,
          size: BigInt(d.sizeBytes),
          prettySize: humanSize(d.sizeBytes),
          ioSize: 4096n,
          sectorSize: 512n,
          model: d.model,
          serial: d.serial,
          transport: d.transport,
          rotational: d.rotational,
          subSystem: d.transport === "nvme" ? "/sys/class/nvme" : "/sys/class/block",
          firmwareVersion,
        };
        return {
          id: d.id,
          proto: enc(DiskSpecSchema, common),
          yaml: y({
            dev_path: common.devPath,
            size: d.sizeBytes,
            pretty_size: common.prettySize,
            io_size: 4096,
            sector_size: 512,
            readonly: false,
            cdrom: false,
            model: d.model,
            serial: d.serial,
            sub_system: common.subSystem,
            transport: d.transport,
            rotational: d.rotational,
            firmware_version: firmwareVersion,
          }),
        };
      });
    },
  },
  {
    type: "Versions.runtime.talos.dev",
    namespace: "runtime",
    displayType: "Version",
    aliases: ["version", "versions"],
    sensitive: false,
    items(s, version) {
      // VersionSpec has a protobuf form only from 1.14; older nodes send YAML only.
      return [
        {
          id: "version",
          proto: atLeastMinor(version, "1.14")
            ? enc(VersionSpecSchema, { version: s.version, name: "Talos" })
            : new Uint8Array(),
          yaml: y({ version: s.version, name: "Talos" }),
        },
      ];
    },
  },
  {
    type: "MachineStatuses.runtime.talos.dev",
    namespace: "runtime",
    displayType: "MachineStatus",
    aliases: ["machinestatus", "machinestatuses"],
    sensitive: false,
    printColumns: [
      { name: "Stage", jsonPath: "{.stage}" },
      { name: "Ready", jsonPath: "{.status.ready}" },
    ],
    items(s) {
      return [
        {
          id: "machine",
          proto: enc(MachineStatusSpecSchema, {
            stage: STAGE_NUM[s.stage],
            status: { ready: s.ready, unmetConditions: s.unmetConditions },
          }),
          yaml: stringify({
            stage: s.stage,
            status: { ready: s.ready, unmetConditions: s.unmetConditions },
          }),
        },
      ];
    },
  },
  {
    type: "ExtensionStatuses.runtime.talos.dev",
    namespace: "runtime",
    displayType: "ExtensionStatus",
    aliases: ["extensionstatus", "extensionstatuses", "extensions"],
    sensitive: false,
    items(s) {
      const layers = [...s.extensions];
      const all = layers.map((e, i) => ({ idx: i, e }));
      if (s.schematic && s.schematic !== "") {
        all.push({
          idx: all.length,
          e: {
            image: "schematic.sqsh",
            name: "schematic",
            version: s.schematic,
            author: `Image Factory (${s.factoryUrl})`,
            description: "Virtual extension carrying the Image Factory schematic ID.",
          },
        });
      }
      return all.map(({ idx, e }) => {
        const meta = {
          name: e.name,
          version: e.version,
          author: e.author,
          description: e.description,
          compatibility: { talos: { version: ">= v1.0.0" } },
        };
        return {
          id: e.image.replace(/\.sqsh$/, "") || String(idx),
          proto: enc(LayerSchema, { image: e.image, metadata: meta }),
          yaml: stringify({ image: e.image, metadata: meta }),
        };
      });
    },
  },
  {
    type: "ImageFactorySchematics.runtime.talos.dev",
    namespace: "runtime",
    displayType: "ImageFactorySchematic",
    aliases: ["imagefactoryschematic", "imagefactoryschematics"],
    sensitive: false,
    since: "1.14",
    items(s) {
      if (!s.schematic) return [];
      const flavor = s.secureBoot ? "secureboot" : "";
      return [
        {
          id: "image-factory-schematic",
          proto: enc(ImageFactorySchematicSpecSchema, {
            schematicId: s.schematic,
            flavor,
            apiurl: s.factoryUrl,
          }),
          yaml: y({ schematicId: s.schematic, flavor, apiUrl: s.factoryUrl }),
        },
      ];
    },
  },
  {
    type: "KubeletSpecs.kubernetes.talos.dev",
    namespace: "k8s",
    displayType: "KubeletSpec",
    aliases: ["kubeletspec", "kubeletspecs"],
    sensitive: false,
    items(s) {
      if (s.maintenance) return [];
      const spec = {
        image: `ghcr.io/siderolabs/kubelet:${s.kubernetesVersion}`,
        expectedNodename: s.hostname,
      };
      return [{ id: "kubelet", proto: enc(KubeletSpecSpecSchema, spec), yaml: y(spec) }];
    },
  },
  {
    type: "Services.v1alpha1.talos.dev",
    namespace: "runtime",
    displayType: "Service",
    aliases: ["service", "services", "svc"],
    sensitive: false,
    printColumns: [
      { name: "Running", jsonPath: "{.running}" },
      { name: "Healthy", jsonPath: "{.healthy}" },
    ],
    items(s) {
      return s.services.map((svc) => {
        const spec = { running: svc.state === "Running", healthy: svc.healthy, unknown: false };
        return { id: svc.id, proto: enc(ServiceSpecSchema, spec), yaml: y(spec) };
      });
    },
  },
  {
    type: "BootIDs.runtime.talos.dev",
    namespace: "runtime",
    displayType: "BootID",
    aliases: ["bootid", "bootids"],
    sensitive: false,
    since: "1.14",
    items(s) {
      return [
        {
          id: "boot-id",
          proto: enc(BootIDSpecSchema, { bootId: s.bootId }),
          yaml: y({ bootID: s.bootId }),
        },
      ];
    },
  },
  {
    type: "SecurityStates.talos.dev",
    namespace: "runtime",
    displayType: "SecurityState",
    aliases: ["securitystate", "securitystates"],
    sensitive: false,
    items(s) {
      const spec = {
        secureBoot: s.secureBoot,
        bootedWithUki: s.secureBoot,
        seLinuxState: 0,
        fipsState: 0,
        moduleSignatureEnforced: true,
      };
      return [
        {
          id: "securitystate",
          proto: enc(SecurityStateSpecSchema, spec),
          yaml: stringify({
            secureBoot: s.secureBoot,
            seLinuxState: "disabled",
            bootedWithUKI: s.secureBoot,
            fipsState: "disabled",
            moduleSignatureEnforced: true,
          }),
        },
      ];
    },
  },
  {
    type: "PlatformMetadatas.talos.dev",
    namespace: "runtime",
    displayType: "PlatformMetadata",
    aliases: ["platformmetadata", "platformmetadatas"],
    sensitive: false,
    items(s) {
      if (s.maintenance) return [];
      const spec = { platform: s.platform, hostname: s.hostname };
      return [
        {
          id: "platformmetadata",
          proto: enc(PlatformMetadataSpecSchema, spec),
          yaml: y(spec),
        },
      ];
    },
  },
  {
    type: "MachineTypes.config.talos.dev",
    namespace: "config",
    displayType: "MachineType",
    aliases: ["machinetype", "machinetypes"],
    sensitive: false,
    items(s) {
      if (s.maintenance) return [];
      const cp = s.role === "controlplane";
      return [
        {
          id: "machine-type",
          proto: enc(MachineTypeSpecSchema, {
            machineType: cp ? MachineType.CONTROL_PLANE : MachineType.WORKER,
          }),
          yaml: `${cp ? "controlplane" : "worker"}\n`,
        },
      ];
    },
  },
  {
    type: "MachineConfigs.config.talos.dev",
    namespace: "config",
    displayType: "MachineConfig",
    aliases: ["machineconfig", "machineconfigs", "mc"],
    sensitive: true,
    items(s) {
      // The spec of a machine config is the config text itself: yaml_spec holds it as one
      // YAML string (Talos marshals the spec as the raw text), so every document survives;
      // proto_spec is a MachineConfigSpec holding the same text.
      const item = (id: string, text: string): ResourceItem => ({
        id,
        proto: enc(MachineConfigSpecSchema, { yamlMarshalled: new TextEncoder().encode(text) }),
        yaml: stringify(text),
        annotations: { "talos.dev/yaml-spec": "1" },
      });
      const out: ResourceItem[] = [];
      if (s.config) out.push(item("v1alpha1", s.config));
      if (s.stagedConfig) out.push(item("staged", s.stagedConfig));
      return out;
    },
  },
];

/** Network, cluster discovery, Kubernetes node name and etcd member types (each as Talos registers it). */
resourceTypes.push(
  {
    type: "HostnameStatuses.net.talos.dev",
    namespace: "network",
    displayType: "HostnameStatus",
    aliases: ["hostname"],
    sensitive: false,
    items(s) {
      const spec = { hostname: s.hostname, domainname: "" };
      return [
        {
          id: "hostname",
          proto: enc(HostnameStatusSpecSchema, spec),
          yaml: stringify(spec),
        },
      ];
    },
  },
  {
    type: "AddressStatuses.net.talos.dev",
    namespace: "network",
    displayType: "AddressStatus",
    aliases: ["address", "addresses"],
    sensitive: false,
    items(_s, _version, view) {
      const lo = {
        id: "lo/127.0.0.1/8",
        ip: Uint8Array.from([127, 0, 0, 1]),
        prefix: 8,
        link: { name: "lo", index: 1 },
        scope: NethelpersScope.SCOPE_HOST,
      };
      const own = ipv4Bytes(view.address);
      const all = [lo];
      if (own)
        all.push({
          id: `${LINK.name}/${view.address}/24`,
          ip: own,
          prefix: 24,
          link: LINK,
          scope: NethelpersScope.SCOPE_GLOBAL,
        });
      return all.map((a) => {
        const text = `${[...a.ip].join(".")}/${a.prefix}`;
        return {
          id: a.id,
          proto: enc(AddressStatusSpecSchema, {
            address: { ip: a.ip, prefixLength: a.prefix },
            local: { ip: a.ip },
            linkIndex: a.link.index,
            linkName: a.link.name,
            family: NethelpersFamily.FAMILY_INET4,
            scope: a.scope,
            flags: 128,
            priority: 0,
          }),
          yaml: stringify({
            address: text,
            local: [...a.ip].join("."),
            linkIndex: a.link.index,
            linkName: a.link.name,
            family: "inet4",
            scope: a.scope === NethelpersScope.SCOPE_HOST ? "host" : "global",
            flags: "permanent",
            priority: 0,
          }),
        };
      });
    },
  },
  {
    type: "Members.cluster.talos.dev",
    namespace: "cluster",
    displayType: "Member",
    aliases: [],
    sensitive: false,
    printColumns: [
      { name: "Hostname", jsonPath: "{.hostname}" },
      { name: "Machine Type", jsonPath: "{.machineType}" },
      { name: "OS", jsonPath: "{.operatingSystem}" },
      { name: "Addresses", jsonPath: "{.addresses}" },
    ],
    items(s, _version, view) {
      // Discovery lists configured nodes of the cluster; a maintenance node has none.
      if (s.maintenance) return [];
      return view.peers
        .filter((p) => !p.state.maintenance)
        .map(({ address, state: p }) => {
          const cp = p.role === "controlplane";
          const ip = ipv4Bytes(address);
          const os = `Talos (${p.version})`;
          const nodeId = nodeIdentity(p.hostname);
          return {
            id: p.hostname,
            proto: enc(MemberSpecSchema, {
              nodeId,
              addresses: ip ? [{ ip }] : [],
              hostname: p.hostname,
              machineType: cp ? MachineKind.TYPE_CONTROL_PLANE : MachineKind.TYPE_WORKER,
              operatingSystem: os,
              controlPlane: cp ? { apiServerPort: 6443n } : undefined,
            }),
            yaml: stringify({
              nodeId,
              addresses: ip ? [address] : [],
              hostname: p.hostname,
              machineType: cp ? "controlplane" : "worker",
              operatingSystem: os,
              ...(cp ? { controlPlane: { apiServerPort: 6443 } } : {}),
            }),
          };
        });
    },
  },
  {
    type: "Nodenames.kubernetes.talos.dev",
    namespace: "k8s",
    displayType: "Nodename",
    aliases: [],
    sensitive: false,
    items(s) {
      if (s.maintenance) return [];
      const spec = { nodename: s.hostname, hostnameVersion: "1", skipNodeRegistration: false };
      return [{ id: "nodename", proto: enc(NodenameSpecSchema, spec), yaml: stringify(spec) }];
    },
  },
  {
    type: "EtcdMembers.etcd.talos.dev",
    namespace: "etcd",
    displayType: "EtcdMember",
    aliases: [],
    sensitive: false,
    printColumns: [{ name: "Member ID", jsonPath: "{.memberID}" }],
    items(s) {
      if (!s.etcd) return [];
      // Talos stores the local member ID as 16 hex digits.
      const memberId = s.etcd.id.toString(16).padStart(16, "0");
      return [
        {
          id: "local",
          proto: enc(EtcdMemberSpecSchema, { memberId }),
          yaml: stringify({ memberID: memberId }),
        },
      ];
    },
  },
);

/** Link and route statuses (network) and volume statuses (block, runtime namespace). */
resourceTypes.push(
  {
    type: "LinkStatuses.net.talos.dev",
    namespace: "network",
    displayType: "LinkStatus",
    aliases: ["link", "links"],
    sensitive: false,
    items: (s, _version, view) => linkStatuses(s, view.address),
  },
  {
    type: "RouteStatuses.net.talos.dev",
    namespace: "network",
    displayType: "RouteStatus",
    aliases: ["route", "routes"],
    sensitive: false,
    items: (_s, _version, view) => routeStatuses(view.address),
  },
  {
    type: "VolumeStatuses.block.talos.dev",
    namespace: "runtime",
    displayType: "VolumeStatus",
    aliases: [],
    sensitive: false,
    printColumns: [
      { name: "Phase", jsonPath: "{.phase}" },
      { name: "Location", jsonPath: "{.location}" },
    ],
    items: (s) => volumeStatuses(s),
  },
);

const NAMESPACES: Record<string, string> = {
  cluster: "Cluster configuration and discovery resources.",
  config: "Talos node configuration.",
  etcd: "etcd resources.",
  hardware: "Talos hardware related resources.",
  k8s: "Kubernetes components the node runs.",
  meta: "Metadata namespace which contains resource definitions.",
  network: "Networking resources.",
  runtime: "Talos runtime.",
};

const RD_TYPE = "ResourceDefinitions.meta.cosi.dev";
const NS_TYPE = "Namespaces.meta.cosi.dev";

function allAliases(t: { type: string; displayType: string; aliases: string[] }): string[] {
  const plural = t.type.split(".")[0]?.toLowerCase() ?? "";
  const group = t.type.split(".")[1] ?? "";
  const singular = t.displayType.toLowerCase();
  const set = new Set<string>([
    ...t.aliases,
    singular,
    plural,
    `${singular}.${group}`,
    `${plural}.${group}`,
  ]);
  return [...set];
}

/** Types served on a version (meta types included). */
export function typesFor(version: string): ResourceType[] {
  const base = resourceTypes.filter((t) => t.since === undefined || atLeastMinor(version, t.since));
  const meta: ResourceType[] = [
    {
      type: RD_TYPE,
      namespace: "meta",
      displayType: "ResourceDefinition",
      aliases: ["resourcedefinition", "resourcedefinitions", "rd", "rds"],
      sensitive: false,
      items: () => [...base, ...meta].map((t) => rdItem(t)),
    },
    {
      type: NS_TYPE,
      namespace: "meta",
      displayType: "Namespace",
      aliases: ["namespace", "namespaces", "ns"],
      sensitive: false,
      items: () =>
        Object.entries(NAMESPACES).map(([id, description]) => ({
          id,
          proto: enc(NamespaceSpecSchema, { description }),
          yaml: y({ description }),
        })),
    },
  ];
  return [...base, ...meta];
}

function rdItem(t: ResourceType): ResourceItem {
  const spec = {
    resourceType: t.type,
    displayType: t.displayType,
    defaultNamespace: t.namespace,
    aliases: t.aliases,
    allAliases: allAliases(t),
    printColumns: t.printColumns ?? [],
    sensitivity: t.sensitive
      ? ResourceDefinitionSpec_Sensitivity.SENSITIVE
      : ResourceDefinitionSpec_Sensitivity.NON_SENSITIVE,
  };
  return {
    id: t.type.toLowerCase(),
    proto: enc(ResourceDefinitionSpecSchema, spec),
    yaml: stringify({
      type: spec.resourceType,
      displayType: spec.displayType,
      defaultNamespace: spec.defaultNamespace,
      aliases: spec.aliases,
      allAliases: spec.allAliases,
      printColumns: spec.printColumns,
      sensitivity: t.sensitive ? 1 : 0,
    }),
  };
}

interface Stored {
  resource: Resource;
  key: string;
  fingerprint: string;
}

/** A change to one resource, for Watch. */
export interface ResourceChange {
  kind: "created" | "updated" | "destroyed";
  resource: Resource;
  old?: Resource;
}

/** Versioned resource store of one node, rebuilt from state on `refresh()`. */
export class ResourceStore {
  private readonly stored = new Map<string, Stored>();
  private readonly listeners = new Set<(c: ResourceChange) => void>();
  private types: ResourceType[] = [];

  constructor(
    private readonly state: () => SimNodeState,
    private readonly view: () => NodeView = () => ({
      address: "",
      peers: [{ address: "", state: state() }],
    }),
  ) {}

  /** Known type (by full type name) with its definition. */
  type(name: string): ResourceType | undefined {
    return this.types.find((t) => t.type === name);
  }

  /** Rebuild all resources from state, bumping versions of changed ones and notifying watchers. */
  refresh(): void {
    const s = this.state();
    const view = this.view();
    this.types = typesFor(s.version);
    const seen = new Set<string>();
    const now = new Date();
    const ts = {
      seconds: BigInt(Math.floor(now.getTime() / 1000)),
      nanos: (now.getTime() % 1000) * 1e6,
    };
    for (const t of this.types) {
      for (const item of t.items(s, s.version, view)) {
        const key = `${t.namespace}/${t.type}/${item.id}`;
        seen.add(key);
        const fingerprint = `${Buffer.from(item.proto).toString("base64")}|${item.yaml}`;
        const prev = this.stored.get(key);
        if (prev && prev.fingerprint === fingerprint) continue;
        const version = prev ? Number(prev.resource.metadata?.version ?? "1") + 1 : 1;
        const resource = create(ResourceSchema, {
          metadata: {
            namespace: t.namespace,
            type: t.type,
            id: item.id,
            version: String(version),
            owner: "",
            phase: "running",
            created: prev?.resource.metadata?.created ?? ts,
            updated: ts,
            finalizers: [],
            labels: {},
            annotations: item.annotations ?? {},
          },
          spec: { protoSpec: item.proto, yamlSpec: item.yaml },
        });
        this.stored.set(key, { resource, key, fingerprint });
        this.emit(
          prev ? { kind: "updated", resource, old: prev.resource } : { kind: "created", resource },
        );
      }
    }
    for (const [key, st] of [...this.stored]) {
      if (!seen.has(key)) {
        this.stored.delete(key);
        this.emit({ kind: "destroyed", resource: st.resource, old: st.resource });
      }
    }
  }

  private emit(c: ResourceChange): void {
    for (const l of this.listeners) l(c);
  }

  get(namespace: string, type: string, id: string): Resource | undefined {
    return this.stored.get(`${namespace}/${type}/${id}`)?.resource;
  }

  list(namespace: string, type: string): Resource[] {
    const prefix = `${namespace}/${type}/`;
    return [...this.stored.values()].filter((s) => s.key.startsWith(prefix)).map((s) => s.resource);
  }

  namespaces(): string[] {
    return Object.keys(NAMESPACES);
  }

  subscribe(l: (c: ResourceChange) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
