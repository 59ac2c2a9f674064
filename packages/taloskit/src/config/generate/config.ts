// Machine configs for a new cluster, with the documents each Talos version's own
// generator writes, and the talosconfig of its administrator.
import { stringify } from "yaml";
import { ConfigPatchError } from "../errors.js";
import { type ConfigPatch, loadPatch, patchConfig } from "../patch.js";
import { generateClientCertificate, generateSecrets, type SecretsBundle } from "./secrets.js";
import { DEFAULT_KUBERNETES_VERSIONS, type GenerateVersion, generateVersion } from "./versions.js";

/** What {@link generateConfig} makes a cluster from. */
export interface GenerateConfigInput {
  /** Cluster name (also the talosconfig's context name). */
  clusterName: string;
  /** Kubernetes API endpoint, `https://host:port`. */
  endpoint: string;
  /** Talos version whose documents to write (`1.12`, `v1.13.2`, ...); default the newest supported. */
  talosVersion?: string;
  /** Kubernetes version (`1.36.3` or `v1.36.3`); default that Talos version's own default. */
  kubernetesVersion?: string;
  /** Secrets to use (e.g. from {@link parseSecrets}); default a new bundle. */
  secrets?: SecretsBundle;
  /** Disk to install to; default `/dev/sda`, as talosctl's. */
  installDisk?: string;
  /** Patches for both roles, then the role's own, applied in order (YAML text or loaded). */
  patches?: readonly (string | ConfigPatch)[];
  controlPlanePatches?: readonly (string | ConfigPatch)[];
  workerPatches?: readonly (string | ConfigPatch)[];
  /** Start of the client certificate's validity; default now. */
  now?: Date;
}

/** The generated files. */
export interface GeneratedConfig {
  /** controlplane.yaml */
  controlplane: string;
  /** worker.yaml */
  worker: string;
  /** talosconfig: one context named after the cluster, with an `os:admin` client certificate. */
  talosconfig: string;
  /** The secrets the configs hold (the given ones, or new ones). */
  secrets: SecretsBundle;
  talosVersion: GenerateVersion;
  kubernetesVersion: string;
}

type Role = "controlplane" | "worker";
type Doc = Record<string, unknown>;

const b64 = (pem: string) => Buffer.from(pem).toString("base64");
const POD_SUBNET = "10.244.0.0/16";
const SERVICE_SUBNET = "10.96.0.0/12";
const DISCOVERY_ENDPOINT = "https://discovery.talos.dev/";
const KUBEPRISM_PORT = 7445;

/** Checks the endpoint as talosctl does: an https URL with a host. */
function checkEndpoint(endpoint: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || !/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint))
    throw new ConfigPatchError(
      "CONFIG_BAD_OPTION",
      `cluster endpoint ${JSON.stringify(endpoint)} is not a URL; try "https://${endpoint.replace(/^\/+/, "")}${/:\d+$/.test(endpoint) ? "" : ":6443"}"`,
    );
  if (url.protocol !== "https:")
    throw new ConfigPatchError(
      "CONFIG_BAD_OPTION",
      `cluster endpoint ${JSON.stringify(endpoint)} should have scheme https://`,
    );
  if (!url.hostname)
    throw new ConfigPatchError(
      "CONFIG_BAD_OPTION",
      `cluster endpoint ${JSON.stringify(endpoint)} has no host`,
    );
}

function checkClusterName(name: string): void {
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(name))
    throw new ConfigPatchError(
      "CONFIG_BAD_OPTION",
      `cluster name ${JSON.stringify(name.slice(0, 64))} is not a valid name (letters, digits, '.', '_', '-')`,
    );
}

function kubernetesVersion(value: string | undefined, talos: GenerateVersion): string {
  if (value === undefined || value === "") return DEFAULT_KUBERNETES_VERSIONS[talos];
  const m = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(value.trim());
  if (!m?.[1])
    throw new ConfigPatchError(
      "CONFIG_BAD_OPTION",
      `kubernetes version ${JSON.stringify(value.slice(0, 40))} is not a version like 1.36.3`,
    );
  return m[1];
}

const images = (k8s: string) => ({
  kubelet: `ghcr.io/siderolabs/kubelet:v${k8s}`,
  apiServer: `registry.k8s.io/kube-apiserver:v${k8s}`,
  controllerManager: `registry.k8s.io/kube-controller-manager:v${k8s}`,
  scheduler: `registry.k8s.io/kube-scheduler:v${k8s}`,
  proxy: `registry.k8s.io/kube-proxy:v${k8s}`,
});

/** The Pod Security admission defaults Talos configures. */
const podSecurity = () => ({
  apiVersion: "pod-security.admission.config.k8s.io/v1alpha1",
  defaults: {
    audit: "restricted",
    "audit-version": "latest",
    enforce: "baseline",
    "enforce-version": "latest",
    warn: "restricted",
    "warn-version": "latest",
  },
  exemptions: { namespaces: ["kube-system"], runtimeClasses: [], usernames: [] },
  kind: "PodSecurityConfiguration",
});

const auditPolicy = () => ({
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  rules: [{ level: "Metadata" }],
});

interface Context {
  role: Role;
  clusterName: string;
  endpoint: string;
  k8s: string;
  secrets: SecretsBundle;
  installDisk: string;
}

const controlPlane = (c: Context) => c.role === "controlplane";

/** Talos 1.12 and 1.13: everything in the v1alpha1 document, and a HostnameConfig. */
function legacyDocuments(c: Context, version: GenerateVersion): Doc[] {
  const s = c.secrets;
  const img = images(c.k8s);
  const cp = controlPlane(c);
  const machine: Doc = {
    type: c.role,
    token: s.trustdToken,
    ca: { crt: b64(s.certs.os.crt), key: cp ? b64(s.certs.os.key) : "" },
    certSANs: [],
    kubelet: {
      image: img.kubelet,
      defaultRuntimeSeccompProfileEnabled: true,
      disableManifestsDirectory: true,
    },
    ...(version === "1.12" ? { network: {} } : {}),
    install: { disk: c.installDisk, wipe: false, grubUseUKICmdline: true },
    features: {
      diskQuotaSupport: true,
      kubePrism: { enabled: true, port: KUBEPRISM_PORT },
      hostDNS: { enabled: true, forwardKubeDNSToHost: true },
    },
    ...(cp
      ? { nodeLabels: { "node.kubernetes.io/exclude-from-external-load-balancers": "" } }
      : {}),
  };
  const cluster: Doc = {
    id: s.cluster.id,
    secret: s.cluster.secret,
    controlPlane: { endpoint: c.endpoint },
    clusterName: c.clusterName,
    network: {
      dnsDomain: "cluster.local",
      podSubnets: [POD_SUBNET],
      serviceSubnets: [SERVICE_SUBNET],
    },
    token: s.secrets.bootstrapToken,
  };
  if (cp) {
    if (s.secrets.secretboxEncryptionSecret)
      cluster.secretboxEncryptionSecret = s.secrets.secretboxEncryptionSecret;
    if (s.secrets.aescbcEncryptionSecret)
      cluster.aescbcEncryptionSecret = s.secrets.aescbcEncryptionSecret;
  }
  cluster.ca = { crt: b64(s.certs.k8s.crt), key: cp ? b64(s.certs.k8s.key) : "" };
  if (cp) {
    cluster.aggregatorCA = {
      crt: b64(s.certs.k8sAggregator.crt),
      key: b64(s.certs.k8sAggregator.key),
    };
    cluster.serviceAccount = { key: b64(s.certs.k8sServiceAccount.key) };
    cluster.apiServer = {
      image: img.apiServer,
      admissionControl: [{ name: "PodSecurity", configuration: podSecurity() }],
      auditPolicy: auditPolicy(),
    };
    cluster.controllerManager = { image: img.controllerManager };
    cluster.proxy = { image: img.proxy };
    cluster.scheduler = { image: img.scheduler };
  }
  cluster.discovery = {
    enabled: true,
    registries: { kubernetes: { disabled: true }, service: {} },
  };
  if (cp) cluster.etcd = { ca: { crt: b64(s.certs.etcd.crt), key: b64(s.certs.etcd.key) } };
  return [
    { version: "v1alpha1", debug: false, persist: true, machine, cluster },
    { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" },
  ];
}

const doc = (kind: string, body: Doc): Doc => ({ apiVersion: "v1alpha1", kind, ...body });

/** Talos 1.14: a small v1alpha1 document and one document per concern. */
function splitDocuments(c: Context): Doc[] {
  const s = c.secrets;
  const img = images(c.k8s);
  const cp = controlPlane(c);
  const v1alpha1: Doc = {
    version: "v1alpha1",
    debug: false,
    persist: true,
    machine: {
      type: c.role,
      token: s.trustdToken,
      ca: { crt: b64(s.certs.os.crt), key: cp ? b64(s.certs.os.key) : "" },
      certSANs: [],
      features: { diskQuotaSupport: true },
    },
    cluster: {
      token: s.secrets.bootstrapToken,
      ...(cp ? { etcd: { ca: { crt: b64(s.certs.etcd.crt), key: b64(s.certs.etcd.key) } } } : {}),
    },
  };
  const docs: Doc[] = [
    v1alpha1,
    doc("DiscoveryServiceConfig", { name: "default", endpoint: DISCOVERY_ENDPOINT }),
    doc("DiscoveryIdentityConfig", { clusterID: s.cluster.id, clusterSecret: s.cluster.secret }),
    doc("UnattendedInstallConfig", {
      installer: {},
      provisioning: {
        diskSelector: { match: `disk.dev_path == ${JSON.stringify(c.installDisk)}` },
        wipe: false,
      },
    }),
    doc("ResolverConfig", { hostDNS: { enabled: true, forwardKubeDNSToHost: true } }),
    doc("VolumeConfig", { name: "EPHEMERAL", mount: { secure: true } }),
    doc("FilesystemTrimConfig", { interval: "168h0m0s" }),
    doc("SecurityProfileConfig", { workloadIsolation: true }),
    doc("HostnameConfig", { auto: "stable" }),
    doc("KubeClusterConfig", { clusterName: c.clusterName, endpoint: c.endpoint }),
    doc("KubeNodeConfig", {
      nodeIP: {},
      ...(cp
        ? {
            labels: {
              "node-role.kubernetes.io/control-plane": "",
              "node.kubernetes.io/exclude-from-external-load-balancers": "",
            },
            taints: { "node-role.kubernetes.io/control-plane": "NoSchedule" },
          }
        : {}),
    }),
    doc("KubeletConfig", {
      image: img.kubelet,
      config: {},
      defaultRuntimeSeccompProfileEnabled: true,
    }),
    doc("KubeNetworkConfig", {
      dnsDomain: "cluster.local",
      podSubnets: [POD_SUBNET],
      serviceSubnets: [SERVICE_SUBNET],
    }),
    doc(
      "KubeAPIServerCAConfig",
      cp
        ? { issuingCA: { cert: s.certs.k8s.crt, key: s.certs.k8s.key } }
        : { acceptedCAs: [s.certs.k8s.crt] },
    ),
    doc("KubePrismConfig", { port: KUBEPRISM_PORT }),
  ];
  if (!cp) return docs;
  const encryption = s.secrets.secretboxEncryptionSecret
    ? { secretbox: { keys: [{ name: "key2", secret: s.secrets.secretboxEncryptionSecret }] } }
    : { aescbc: { keys: [{ name: "key1", secret: s.secrets.aescbcEncryptionSecret ?? "" }] } };
  docs.push(
    doc("KubeAggregatorCAConfig", {
      issuingCA: { cert: s.certs.k8sAggregator.crt, key: s.certs.k8sAggregator.key },
    }),
    doc("KubeAdmissionControlConfig", { name: "PodSecurity", configuration: podSecurity() }),
    doc("KubeAuditPolicyConfig", { configuration: auditPolicy() }),
    doc("KubeAuthenticationConfig", {
      configuration: {
        anonymous: {
          conditions: [{ path: "/livez" }, { path: "/readyz" }, { path: "/healthz" }],
          enabled: true,
        },
        jwt: [],
      },
    }),
    doc("KubeAuthorizerConfig", { name: "node", type: "Node" }),
    doc("KubeAuthorizerConfig", { name: "rbac", type: "RBAC" }),
    doc("KubeEtcdEncryptionConfig", {
      config: { resources: [{ providers: [encryption], resources: ["secrets"] }] },
    }),
    doc("KubeServiceAccountConfig", {
      issuer: { privateKey: s.certs.k8sServiceAccount.key, issuerURL: c.endpoint },
    }),
    doc("KubeAPIServerConfig", { image: img.apiServer }),
    doc("KubeControllerManagerConfig", { image: img.controllerManager }),
    doc("KubeSchedulerConfig", { image: img.scheduler, config: {} }),
    doc("KubeProxyConfig", { image: img.proxy, config: {} }),
    doc("KubeFlannelCNIConfig", { backendType: "vxlan", backendPort: 4789 }),
    doc("KubeCoreDNSConfig", { enabled: true }),
  );
  return docs;
}

const print = (docs: Doc[]) =>
  docs.map((d) => stringify(d, { indent: 4, lineWidth: 0 })).join("---\n");

/**
 * Generates controlplane.yaml, worker.yaml and a talosconfig for a new cluster, as
 * `talosctl gen config` of that Talos version does (without its comments). Pure
 * apart from randomness; bad input throws {@link ConfigPatchError} naming it.
 */
export function generateConfig(input: GenerateConfigInput): GeneratedConfig {
  const talosVersion = generateVersion(input.talosVersion);
  const k8s = kubernetesVersion(input.kubernetesVersion, talosVersion);
  checkClusterName(input.clusterName);
  checkEndpoint(input.endpoint);
  // Patches are read before any key is made, so a bad one fails at once.
  const load = (list: readonly (string | ConfigPatch)[] | undefined, what: string) =>
    (list ?? []).map((p, i) => (typeof p === "string" ? loadPatch(p, `${what} ${i + 1}`) : p));
  const common = load(input.patches, "config patch");
  const own = {
    controlplane: load(input.controlPlanePatches, "control plane patch"),
    worker: load(input.workerPatches, "worker patch"),
  };
  const secrets = input.secrets ?? generateSecrets({ talosVersion });
  const now = input.now ?? new Date();
  const make = (role: Role) => {
    const c: Context = {
      role,
      clusterName: input.clusterName,
      endpoint: input.endpoint,
      k8s,
      secrets,
      installDisk: input.installDisk ?? "/dev/sda",
    };
    const base = print(
      talosVersion === "1.14" ? splitDocuments(c) : legacyDocuments(c, talosVersion),
    );
    const patches = [...common, ...own[role]];
    if (!patches.length) return base;
    return patchConfig(base, patches, { talosVersion, diff: false }).text;
  };
  const client = generateClientCertificate(secrets, ["os:admin"], now);
  const talosconfig = stringify(
    {
      context: input.clusterName,
      contexts: {
        [input.clusterName]: {
          endpoints: [],
          ca: b64(secrets.certs.os.crt),
          crt: b64(client.crt),
          key: b64(client.key),
        },
      },
    },
    { indent: 4, lineWidth: 0 },
  );
  return {
    controlplane: make("controlplane"),
    worker: make("worker"),
    talosconfig,
    secrets,
    talosVersion,
    kubernetesVersion: k8s,
  };
}
