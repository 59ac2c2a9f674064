import { createHash, randomUUID } from "node:crypto";
import { atLeastMinor } from "@taloskit/core";
import {
  deviceTreeFiles,
  type HardwareProfile,
  type HardwareProfileName,
  hardwareProfiles,
} from "./profiles.js";

/** The empty schematic (vanilla image) ID. */
export const EMPTY_SCHEMATIC_ID =
  "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

/** Machine stages as Talos names them in MachineStatus (yaml text). */
export type MachineStage =
  | "unknown"
  | "booting"
  | "installing"
  | "maintenance"
  | "running"
  | "rebooting"
  | "shutting down"
  | "resetting"
  | "upgrading";

/** One system extension running on a node. */
export interface SimExtension {
  /** Layer image, e.g. `nvidia-container-toolkit.sqsh`. */
  image: string;
  name: string;
  version: string;
  author: string;
  description: string;
}

/** A service as ServiceList reports it. */
export interface SimService {
  id: string;
  state: string;
  healthy: boolean;
}

/** etcd membership of a control-plane node. */
export interface SimEtcdMember {
  id: bigint;
  hostname: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
  healthy: boolean;
  dbSize: bigint;
  /** Bytes of the database in use (what a defragmentation shrinks it to); default half of `dbSize`. */
  dbSizeInUse?: bigint;
  /** Whether this member leads the cluster (default: the first member does). */
  leader?: boolean;
  /** Raised alarms of this member (EtcdAlarmList). */
  alarms?: ("NOSPACE" | "CORRUPT")[];
  /** Keys and values this member's snapshots carry (and a recovery restores), in write order. */
  keys?: Record<string, string>;
}

/** Options of one simulated node. */
export interface SimNodeOptions {
  /** Name used in `node` metadata, e.g. "10.5.0.2". */
  address: string;
  hostname?: string;
  role?: "controlplane" | "worker";
  /** Talos version, default "v1.14.0". */
  version?: string;
  profile?: HardwareProfileName;
  maintenance?: boolean;
  /** Running schematic ID. */
  schematic?: string;
  platform?: string;
  secureBoot?: boolean;
  /** Kubernetes version of the kubelet, default "v1.34.1". */
  kubernetesVersion?: string;
}

/** Mutable state of one simulated node; tests may change it directly, then call `touch()` on the node. */
export interface SimNodeState {
  hostname: string;
  role: "controlplane" | "worker";
  version: string;
  /** Git SHA reported by Version. */
  sha: string;
  arch: "amd64" | "arm64";
  platform: string;
  secureBoot: boolean;
  bootId: string;
  /** Running schematic ID (`EMPTY_SCHEMATIC_ID` for a vanilla image). */
  schematic: string;
  /** Image Factory URL the schematic came from. */
  factoryUrl: string;
  /** Kubernetes version the kubelet runs (configured nodes). */
  kubernetesVersion: string;
  stage: MachineStage;
  ready: boolean;
  unmetConditions: { name: string; reason: string }[];
  maintenance: boolean;
  /** Active machine config (multi-document YAML). */
  config: string;
  /** Config staged for the next reboot (ApplyConfiguration STAGED). */
  stagedConfig?: string;
  profileName: HardwareProfileName;
  profile: HardwareProfile;
  extensions: SimExtension[];
  services: SimService[];
  /** Small filesystem for Read/Copy/List. */
  files: Map<string, Uint8Array | string>;
  /** Size of the synthetic file at `/sim/large` (bytes). */
  largeFileSize: number;
  /** Service log buffers by service id (what Logs serves for the system namespace). */
  logs: Map<string, string[]>;
  /** Lines of the CRI (`k8s.io`) containers by talosctl's id, `<pod namespace>/<pod>:<container>`. */
  containerLogs?: Map<string, string[]>;
  /** Kernel messages, each optionally led by a printk level `<N>` (6, info, by default). */
  dmesg: string[];
  etcd?: SimEtcdMember;
  /** Images known to the node's containerd (pulled or imported). */
  images: Set<string>;
  /** What LifecycleService.Upgrade wrote to disk, applied on the next reboot. */
  pendingUpgrade?: {
    image: string;
    version: string;
    schematic: string;
    /** The installer's platform ("metal", "nocloud", ...), booted from then on. */
    platform?: string | undefined;
  };
  /** Installer images the node has booted, oldest first (each reboot into a written installer). */
  bootedInstallers: string[];
  /** Number of boots so far. */
  boots: number;
  /** Whether etcd was bootstrapped (Bootstrap refuses a second time); default: on control planes running etcd. */
  etcdBootstrapped?: boolean;
  /** Whether the node was shut down (Shutdown): it stays down until powered on. */
  poweredOff?: boolean;
  /** What the last Reset wiped, as the node was asked (system partition labels, user disks). */
  lastReset?: {
    graceful: boolean;
    reboot: boolean;
    mode: string;
    labels: string[];
    userDisks: string[];
  };
}

/** Parse an installer reference `<registry>/<platform>-installer[-secureboot]/<schematic>:<version>`. */
export function parseInstallerImage(ref: string): {
  schematic?: string;
  version?: string;
  platform?: string;
  secureBoot?: boolean;
} {
  const tagAt = ref.lastIndexOf(":");
  const slashAt = ref.lastIndexOf("/");
  const version = tagAt > slashAt ? ref.slice(tagAt + 1) : undefined;
  const repo = tagAt > slashAt ? ref.slice(0, tagAt) : ref;
  const parts = repo.split("/");
  const last = parts[parts.length - 1] ?? "";
  const prev = parts[parts.length - 2] ?? "";
  const m = /^(?:(.+)-)?installer(-secureboot)?$/.exec(prev);
  if (m && /^[0-9a-f]{64}$/.test(last)) {
    return { schematic: last, version, platform: m[1] ?? "metal", secureBoot: Boolean(m[2]) };
  }
  const m2 = /^(?:(.+)-)?installer(-secureboot)?$/.exec(last);
  if (m2) return { version, platform: m2[1] ?? "metal", secureBoot: Boolean(m2[2]) };
  return { version };
}

/** The cluster's Talos API CA, written into each node's config (`machine.ca`). */
export interface ConfigCa {
  certPem: string;
  keyPem: string;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

/**
 * A small machine config for a node that its Talos version accepts (the conformance
 * run checks it with Talos's own loader and validation): the v1alpha1 document
 * shrinks from release to release as its sections move to documents of their own.
 * Control planes hold the CA key; workers only trust the CA, as Talos generates them.
 */
export function defaultConfig(
  hostname: string,
  role: "controlplane" | "worker",
  version: string,
  ca: ConfigCa,
): string {
  const v1alpha1 = [
    "version: v1alpha1",
    "debug: false",
    "machine:",
    `  type: ${role}`,
    "  token: simulated.token0000000000",
    "  ca:",
    `    crt: ${b64(ca.certPem)}`,
    `    key: ${role === "controlplane" ? b64(ca.keyPem) : '""'}`,
  ];
  // Before 1.12 the hostname has no document of its own.
  if (!atLeastMinor(version, "1.12")) v1alpha1.push("  network:", `    hostname: ${hostname}`);
  // From 1.14 the install disk is optional and the cluster's identity is KubeClusterConfig.
  if (!atLeastMinor(version, "1.14")) {
    v1alpha1.push(
      "  install:",
      "    disk: /dev/sda",
      "cluster:",
      "  clusterName: sim",
      "  controlPlane:",
      "    endpoint: https://10.5.0.2:6443",
    );
  } else {
    v1alpha1.push("cluster:", "  token: simulated.token0000000000");
  }
  const documents = [v1alpha1];
  if (atLeastMinor(version, "1.12")) {
    documents.push(["apiVersion: v1alpha1", "kind: HostnameConfig", `hostname: ${hostname}`]);
  }
  if (atLeastMinor(version, "1.14")) {
    documents.push([
      "apiVersion: v1alpha1",
      "kind: KubeClusterConfig",
      "clusterName: sim",
      "endpoint: https://10.5.0.2:6443",
    ]);
  }
  return `${documents.map((lines) => lines.join("\n")).join("\n---\n")}\n`;
}

/** Initial state for a node: `index` is its place in the cluster (the first defaults to control plane). */
export function initialState(o: SimNodeOptions & { index: number; ca: ConfigCa }): SimNodeState {
  const role = o.role ?? (o.index === 0 ? "controlplane" : "worker");
  const hostname = o.hostname ?? `talos-${o.address.replace(/[.:]/g, "-")}`;
  const profileName = o.profile ?? "proxmox-vm";
  const profile = hardwareProfiles[profileName];
  const schematic = o.schematic ?? EMPTY_SCHEMATIC_ID;
  const maintenance = o.maintenance ?? false;
  const services: SimService[] = maintenance
    ? [
        { id: "apid", state: "Running", healthy: true },
        { id: "machined", state: "Running", healthy: true },
        { id: "udevd", state: "Running", healthy: true },
      ]
    : [
        { id: "apid", state: "Running", healthy: true },
        { id: "containerd", state: "Running", healthy: true },
        { id: "cri", state: "Running", healthy: true },
        ...(role === "controlplane" ? [{ id: "etcd", state: "Running", healthy: true }] : []),
        { id: "kubelet", state: "Running", healthy: true },
        { id: "machined", state: "Running", healthy: true },
        { id: "trustd", state: "Running", healthy: true },
        { id: "udevd", state: "Running", healthy: true },
      ];
  const files = new Map<string, Uint8Array | string>([
    ["/etc/os-release", `NAME="Talos"\nID=talos\nVERSION_ID=${o.version ?? "v1.14.0"}\n`],
    ["/etc/hostname", `${hostname}\n`],
    ["/var/log/sim.log", "simulated log file\n"],
    ...deviceTreeFiles(profile),
  ]);
  const logs = new Map<string, string[]>();
  for (const s of services) logs.set(s.id, [`[talos] ${s.id} starting`, `[talos] ${s.id} started`]);
  // Control planes run the Kubernetes control plane as static pods in the CRI namespace;
  // every configured node runs the DaemonSets of Talos's default cluster (kube-proxy,
  // flannel), pods named with a suffix of their own.
  const containerLogs = new Map<string, string[]>();
  const podLines = (c: string) => [
    `I0801 00:00:00.000000       1 server.go:150] ${c} starting`,
    `I0801 00:00:01.000000       1 server.go:210] ${c} serving`,
  ];
  if (role === "controlplane" && !maintenance)
    for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"])
      containerLogs.set(`kube-system/${c}-${hostname}:${c}`, podLines(c));
  if (!maintenance)
    for (const c of ["kube-flannel", "kube-proxy"]) {
      const suffix = createHash("sha256").update(`${c}/${hostname}`).digest("hex").slice(0, 5);
      containerLogs.set(`kube-system/${c}-${suffix}:${c}`, podLines(c));
    }
  return {
    hostname,
    role,
    version: o.version ?? "v1.14.0",
    sha: "a1b2c3d4",
    arch: profile.arch,
    platform: o.platform ?? profile.platform ?? "metal",
    secureBoot: o.secureBoot ?? false,
    bootId: randomUUID(),
    schematic,
    factoryUrl: "https://factory.talos.dev",
    // Inside the range Talos 1.12 through 1.14 support.
    kubernetesVersion: o.kubernetesVersion ?? "v1.34.1",
    stage: maintenance ? "maintenance" : "running",
    ready: true,
    unmetConditions: [],
    maintenance,
    config: maintenance ? "" : defaultConfig(hostname, role, o.version ?? "v1.14.0", o.ca),
    profileName,
    profile,
    extensions: [],
    bootedInstallers: [],
    services,
    files,
    largeFileSize: 64 * 1024 * 1024,
    logs,
    containerLogs,
    dmesg: [
      "<5>Linux version 6.12.0-talos",
      `<6>Command line: talos.platform=${o.platform ?? profile.platform ?? "metal"}`,
    ],
    etcd:
      role === "controlplane" && !maintenance
        ? {
            id: BigInt(0x1000 + o.index) * 0x1000000n + 0xabcdefn,
            hostname,
            peerUrls: [`https://${o.address}:2380`],
            clientUrls: [`https://${o.address}:2379`],
            isLearner: false,
            healthy: true,
            dbSize: 20_000_000n,
          }
        : undefined,
    images: new Set(),
    boots: 1,
  };
}
