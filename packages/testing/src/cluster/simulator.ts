import { isIP } from "node:net";
import { stringify } from "yaml";
import { noFaults } from "./faults.js";
import { SimNodeImpl } from "./node.js";
import {
  type CertAndKey,
  createMaintenanceCert,
  createTalosPki,
  type IssueClientOptions,
  type TalosPki,
} from "./pki.js";
import { type RestartMoment, Router } from "./router.js";
import { initialState, type SimNodeOptions, type SimNodeState } from "./state.js";
import type { SimUploads } from "./uploads.js";

export type { SimNodeOptions } from "./state.js";

/** A simulated node as tests see it. */
export interface SimNode {
  readonly address: string;
  /** `127.0.0.1:<port>` of the node's own gRPC server. */
  readonly endpoint: string;
  /** Mutable state; call `touch()` after changing it so resources and watchers follow. */
  readonly state: SimNodeState;
  /** Base64 SHA-256 SPKI fingerprint of the maintenance certificate (maintenance nodes only). */
  readonly maintenanceFingerprint?: string;
  /** PEM root of the maintenance certificate (maintenance nodes only). */
  readonly maintenanceCaPem?: string;
  /** Bytes the node has sent on server streams so far. */
  readonly bytesSent: number;
  /** Whether the node is down (rebooting, or never came back). */
  readonly down: boolean;
  /** How many calls of an RPC ("machine.MachineService/Reboot") were addressed to the node, refused ones included. */
  calls(procedure: string): number;
  /** Server streams of an RPC ("machine.MachineService/Logs"), or of all, open on the node now. */
  openStreams(procedure?: string): number;
  /**
   * Resolves once at most `atMost` (default 0) server streams of an RPC (or of all) are open
   * on the node: ended, failed or cancelled by the client. Rejects after `timeoutMs`.
   */
  streamsClosed(procedure: string | undefined, timeoutMs: number, atMost?: number): Promise<void>;
  /** Client-streaming uploads (EtcdRecover, ImageService.Import) the node received, with checksums. */
  readonly uploads: SimUploads;
  /** Publish state changes to resources and watchers. */
  touch(): void;
  /**
   * Resolves when the node next comes up from a reboot or power-on; rejects after
   * `timeoutMs`. Call it before the reboot so the boot cannot be missed.
   */
  nextBoot(timeoutMs: number): Promise<void>;
  /**
   * Resolves when the node next goes down (reboot, shutdown, reset); rejects after
   * `timeoutMs`. Call it before the call that takes it down.
   */
  nextDown(timeoutMs: number): Promise<void>;
  /** Reboot the node now (as Reboot does). */
  reboot(): void;
  /** Bring back a node that was left down by the `neverReturn` fault. */
  powerOn(): void;
}

/** Fault injection. */
export interface Faults {
  /** Delay every call on a node by `ms` (0 to clear). */
  delay(address: string, ms: number): void;
  /** Make a node unreachable: calls fail with Unavailable and open streams are cut. */
  unreachable(address: string, on?: boolean): void;
  /** Cut server streams of a node with Unavailable once they have sent about `afterBytes` (null to clear). */
  dropStreams(address: string, afterBytes: number | null): void;
  /** The router presents a certificate from another CA. */
  wrongCertificate(on?: boolean): Promise<void>;
  /** The router presents an expired certificate. */
  expiredServerCertificate(on?: boolean): Promise<void>;
  /** After the next reboot the node never comes back. */
  neverReturn(address: string, on?: boolean): void;
  /** The node acknowledges reboots (and legacy upgrades) but never goes down: it stays as it is. */
  ignoreReboots(address: string, on?: boolean): void;
  /** ImageService.Pull (and legacy upgrades) fail with this reason (null to clear). */
  failPull(address: string, reason: string | null): void;
  /** LifecycleService.Upgrade ends with this installer exit code (0 to clear). */
  installerExitCode(address: string, code: number): void;
  /** etcd on a node reports unhealthy. */
  etcdUnhealthy(address: string, on?: boolean): void;
  /** EtcdSnapshot on a node streams a truncated or corrupted snapshot, ending normally (null to clear). */
  etcdSnapshotDamage(address: string, damage: "truncate" | "corrupt" | null): void;
  /**
   * Restarts the router (an apid restart: every connection closed, the port bound
   * again) once, at the next call of `procedure` ("machine.MachineService/Reboot"):
   * as it arrives, before it is forwarded ("arrival", the default: the node never
   * sees it), or as the node's first answer passes through ("response": the node
   * handled it; a unary answer is lost, a stream is cut after its first message).
   * Resolves when the router serves again after that restart.
   */
  restartRouterOn(procedure: string, at?: RestartMoment): Promise<void>;
  /** How long a reboot keeps a node down (default 300 ms). */
  rebootDelay(ms: number): void;
  /** Clear every fault. */
  clear(): Promise<void>;
}

/** Options of `ClusterSimulator.clientOptions`. */
export interface SimClientOptions {
  /** Roles of the client certificate (its Organization); default `["os:admin"]`. */
  roles?: string[];
  /** Nodes a client uses when a call names none; left out by default (the router then answers from the first node). */
  nodes?: string[];
  /** PEM label of the client key: `ED25519 PRIVATE KEY` as Talos writes it (the default), or `PRIVATE KEY`. */
  keyLabel?: IssueClientOptions["keyLabel"];
}

/** Where and as whom a client reaches a simulated cluster: the options `TalosClient.connect` takes. */
export interface SimClientConnection {
  /** The router's endpoint, `127.0.0.1:<port>`, alone. */
  endpoints: string[];
  /** The cluster CA, PEM. */
  ca: string;
  /** A client certificate signed by the cluster CA, PEM. */
  cert: string;
  /** The certificate's Ed25519 key, PEM. */
  key: string;
  /** Default nodes, only when `SimClientOptions.nodes` was given. */
  nodes?: string[];
}

/** A running simulated Talos cluster. */
export interface ClusterSimulator {
  /** `127.0.0.1:<port>` of the apid-like router. */
  readonly endpoint: string;
  readonly nodes: SimNode[];
  readonly pki: TalosPki;
  node(address: string): SimNode;
  /** talosconfig YAML (base64 PEM ca/crt/key) for this cluster. */
  talosconfig(opts?: {
    roles?: string[];
    context?: string;
    nodes?: string[];
    endpoints?: string[];
  }): string;
  /**
   * Endpoint and a fresh client certificate for this cluster, exactly the options
   * `TalosClient.connect` (of `@taloskit/client`) takes, as a plain object:
   *
   * ```ts
   * const client = TalosClient.connect(sim.clientOptions({ roles: ["os:reader"] }));
   * ```
   *
   * Every call issues a new certificate. Tests that need unusual credentials
   * (another CA, expired, other key usages) issue them with `pki.issueClient`.
   */
  clientOptions(opts?: SimClientOptions): SimClientConnection;
  readonly faults: Faults;
  close(): Promise<void>;
}

/** Options of `startCluster`. */
export interface StartClusterOptions {
  nodes: SimNodeOptions[];
  /** Reboot downtime in ms (default 300). */
  rebootDelayMs?: number;
  /** Size of the synthetic `/sim/large` file in bytes (default 64 MiB). */
  largeFileSize?: number;
}

const rpcPath = (procedure: string) => (procedure.startsWith("/") ? procedure : `/${procedure}`);

class PublicNode implements SimNode {
  constructor(
    private readonly impl: SimNodeImpl,
    readonly maintenanceCaPem?: string,
  ) {}
  get address() {
    return this.impl.address;
  }
  get endpoint() {
    return this.impl.endpoint;
  }
  get state() {
    return this.impl.state;
  }
  get maintenanceFingerprint() {
    return this.impl.maintenanceFingerprint;
  }
  get bytesSent() {
    return this.impl.bytesSent;
  }
  get down() {
    return this.impl.isDown;
  }
  get uploads() {
    return this.impl.uploads;
  }
  calls(procedure: string) {
    return this.impl.calls.get(procedure.startsWith("/") ? procedure : `/${procedure}`) ?? 0;
  }
  openStreams(procedure?: string) {
    return this.impl.serverStreams.count(procedure && rpcPath(procedure));
  }
  streamsClosed(procedure: string | undefined, timeoutMs: number, atMost = 0) {
    return this.impl.serverStreams.waitOpen(procedure && rpcPath(procedure), atMost, timeoutMs);
  }
  touch() {
    this.impl.touch();
  }
  nextBoot(timeoutMs: number) {
    return this.impl.nextBoot(timeoutMs);
  }
  nextDown(timeoutMs: number) {
    return this.impl.machine.nextDown(timeoutMs);
  }
  reboot() {
    this.impl.reboot("");
  }
  powerOn() {
    this.impl.powerOn();
  }
}

const LOCAL_SANS = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] };

/** Start a simulated Talos cluster: one mTLS gRPC server per node plus an apid-like router. */
export async function startCluster(opts: StartClusterOptions): Promise<ClusterSimulator> {
  if (opts.nodes.length === 0) throw new Error("startCluster needs at least one node");
  const pki = await createTalosPki();
  let rebootDelay = opts.rebootDelayMs ?? 300;
  const impls: SimNodeImpl[] = [];
  const publics: PublicNode[] = [];
  const maintenanceRoots = new Map<SimNodeImpl, string>();
  for (const [index, o] of opts.nodes.entries()) {
    const state = initialState({ ...o, index, ca: pki.ca });
    if (opts.largeFileSize !== undefined) state.largeFileSize = opts.largeFileSize;
    const extraIps = isIP(o.address) ? [o.address] : [];
    let impl: SimNodeImpl;
    let mroot: string | undefined;
    if (o.maintenance) {
      const m = await createMaintenanceCert({
        dnsNames: ["localhost"],
        ipAddresses: ["127.0.0.1", ...extraIps],
      });
      mroot = m.root.certPem;
      impl = new SimNodeImpl({
        address: o.address,
        state,
        tls: m.leaf,
        maintenanceFingerprint: m.fingerprint,
        rebootDelayMs: () => rebootDelay,
      });
      maintenanceRoots.set(impl, mroot);
    } else {
      const cert = pki.issueServer({
        dnsNames: ["localhost", state.hostname],
        ipAddresses: ["127.0.0.1", ...extraIps],
      });
      impl = new SimNodeImpl({
        address: o.address,
        state,
        tls: { caPem: pki.ca.certPem, ...cert },
        rebootDelayMs: () => rebootDelay,
      });
    }
    impl.joinCluster(() => impls);
    await impl.start();
    impls.push(impl);
    publics.push(new PublicNode(impl, mroot));
  }
  // Cluster-wide resources (discovery Members) need every node: rebuild once all exist.
  for (const i of impls) i.touch();
  const routerCert = pki.issueServer(LOCAL_SANS);
  const impersonator = pki.issueClient({ roles: ["os:impersonator"] });
  const baseTls = {
    caPem: pki.ca.certPem,
    ...routerCert,
    clientCertPem: impersonator.certPem,
    clientKeyPem: impersonator.keyPem,
  };
  const router = new Router(
    () => impls,
    baseTls,
    (n) => maintenanceRoots.get(n),
  );
  await router.start();

  const find = (address: string): SimNodeImpl => {
    const n = impls.find((x) => x.address === address);
    if (!n) throw new Error(`no simulated node ${JSON.stringify(address)}`);
    return n;
  };
  const serverCert = (c: CertAndKey) => router.start({ certPem: c.certPem, keyPem: c.keyPem });

  const faults: Faults = {
    delay: (a, ms) => {
      find(a).faults.delayMs = ms;
    },
    unreachable: (a, on = true) => {
      const n = find(a);
      n.faults.unreachable = on;
      if (on) n.stopStreams();
    },
    dropStreams: (a, afterBytes) => {
      find(a).faults.dropStreamsAfterBytes = afterBytes;
    },
    wrongCertificate: (on = true) =>
      serverCert(on ? pki.issueServer({ ...LOCAL_SANS, ca: "other" }) : routerCert),
    expiredServerCertificate: (on = true) =>
      serverCert(
        on
          ? pki.issueServer({
              ...LOCAL_SANS,
              notBefore: new Date(Date.now() - 10 * 86_400_000),
              notAfter: new Date(Date.now() - 86_400_000),
            })
          : routerCert,
      ),
    neverReturn: (a, on = true) => {
      find(a).faults.neverReturn = on;
    },
    ignoreReboots: (a, on = true) => {
      find(a).faults.ignoreReboots = on;
    },
    failPull: (a, reason) => {
      find(a).faults.failPull = reason;
    },
    installerExitCode: (a, code) => {
      find(a).faults.installerExitCode = code;
    },
    etcdUnhealthy: (a, on = true) => {
      find(a).faults.etcdUnhealthy = on;
    },
    etcdSnapshotDamage: (a, damage) => {
      find(a).faults.etcdSnapshotDamage = damage;
    },
    restartRouterOn: (procedure, at = "arrival") => router.restartOn(rpcPath(procedure), at),
    rebootDelay: (ms) => {
      rebootDelay = ms;
    },
    clear: async () => {
      for (const n of impls) Object.assign(n.faults, noFaults());
      await serverCert(routerCert);
    },
  };

  return {
    get endpoint() {
      return router.endpoint;
    },
    nodes: publics,
    pki,
    node(address) {
      const i = impls.indexOf(find(address));
      return publics[i] as SimNode;
    },
    talosconfig(o = {}) {
      const name = o.context ?? "sim";
      const client = pki.issueClient({ roles: o.roles ?? ["os:admin"] });
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      const ctx: Record<string, unknown> = {
        endpoints: o.endpoints ?? [router.endpoint],
        nodes: o.nodes ?? [impls[0]?.address ?? ""],
        ca: b64(pki.ca.certPem),
        crt: b64(client.certPem),
        key: b64(client.keyPem),
      };
      return stringify({ context: name, contexts: { [name]: ctx } });
    },
    clientOptions(o = {}) {
      const client = pki.issueClient({ roles: o.roles ?? ["os:admin"], keyLabel: o.keyLabel });
      const options: SimClientConnection = {
        endpoints: [router.endpoint],
        ca: pki.ca.certPem,
        cert: client.certPem,
        key: client.keyPem,
      };
      if (o.nodes) options.nodes = [...o.nodes];
      return options;
    },
    faults,
    async close() {
      await router.stop();
      for (const n of impls) await n.stop();
    },
  };
}
