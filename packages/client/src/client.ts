// TalosClient: the Talos API services over one shared transport, services
// bound to a node with at(node), what the client knows of each node, bounded
// fan-out over nodes, and errors that explain themselves.
import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { type PemCredentials, prepareCredentials } from "./credentials.js";
import {
  PermissionDeniedError,
  TalosconfigError,
  TalosError,
  UnimplementedError,
} from "./errors.js";
import { type NodeResult, type OnNodesOptions, runOnNodes } from "./fanout.js";
import { type NodeState, NodeStates, nodeStateInterceptor } from "./node-state.js";
import { definitionOf, RESOURCE_DEFINITION_TYPE, Resources, specObject } from "./resources.js";
import type { RetrySetting } from "./retry-policy.js";
import { explainUnavailable, requiredRoles, rpcAddedIn } from "./rpc.js";
import { type NodeScope, nodeTransport, serviceClients, type TalosServices } from "./services.js";
import type { TransportSettings } from "./session.js";
import { Streams } from "./streams.js";
import { loadTalosconfig, resolveContext, type TalosconfigOptions } from "./talosconfig.js";
import type { TlsSettings } from "./tls.js";
import { TalosTransport } from "./transport.js";

/** Options every way of connecting shares. */
interface ClientOptions extends TransportSettings {
  /** Default timeout of unary calls in milliseconds (default 60 s). */
  defaultTimeoutMs?: number | undefined;
  /** Retries of read-only calls after transient failures (default: DEFAULT_RETRY; false for none). */
  retry?: RetrySetting | undefined;
  /**
   * Interceptors of your own (logging, tracing, metrics), outermost first:
   * they see every call of the client once, and its errors as TalosErrors.
   */
  interceptors?: readonly Interceptor[] | undefined;
}

/** Options of TalosClient.connect(). */
export interface ConnectOptions extends ClientOptions {
  /** Endpoints ("host", "host:port", "https://host"); the first reachable one is used. */
  endpoints: string[];
  /** CA certificate(s), PEM. */
  ca?: string | undefined;
  /** Client certificate, PEM. */
  cert?: string | undefined;
  /** Client key, PEM ("ED25519 PRIVATE KEY" labels are accepted). */
  key?: string | undefined;
  /** Verify server certificates against this name instead of the endpoint host (load balancers). */
  serverName?: string | undefined;
  /** The nodes this client works on by default (see `nodes`). */
  nodes?: string[] | undefined;
}

/** Options of TalosClient.fromTalosconfig(). */
export interface FromTalosconfigOptions extends Omit<TalosconfigOptions, "env">, ClientOptions {
  serverName?: string | undefined;
  env?: Record<string, string | undefined>;
}

/** Options of TalosClient.maintenance(). */
export interface MaintenanceOptions extends ClientOptions {
  /** The unconfigured node's address ("host" or "host:port"). */
  endpoint: string;
  /** Accepted SPKI fingerprints (base64 SHA-256) of the node's certificate. */
  fingerprints?: string[] | undefined;
  /** Skip server verification entirely. Must be spelled out to take effect. */
  insecure?: "skip-verification-i-know" | undefined;
}

/** The services of one node: every call made through them runs on that node. */
export interface NodeClient extends TalosServices {
  readonly node: string;
}

/** A client for the Talos machine API and COSI resources. */
export class TalosClient implements TalosServices, NodeScope {
  readonly machine: TalosServices["machine"];
  readonly image: TalosServices["image"];
  readonly lifecycle: TalosServices["lifecycle"];
  readonly storage: TalosServices["storage"];
  readonly time: TalosServices["time"];
  readonly cluster: TalosServices["cluster"];
  readonly inspect: TalosServices["inspect"];
  readonly lvm: TalosServices["lvm"];
  readonly md: TalosServices["md"];
  readonly debug: TalosServices["debug"];
  readonly cosi: TalosServices["cosi"];
  /** COSI resources: get, list and watch with talosctl-style type names. */
  readonly resources: Resources;
  /** Byte streams (logs, files, snapshots), events and uploads. */
  readonly streams: Streams;
  /**
   * The nodes this client works on by default: the talosconfig context's
   * nodes, or `nodes` of connect(): what commands target unless told other
   * nodes (`onNodes(client.nodes, ...)`). A call runs on the node named with
   * `at(node)`, or on the endpoint's own node.
   */
  readonly nodes: readonly string[];
  /** Roles in the client certificate (its Organization), empty without one. */
  readonly roles: readonly string[];
  /** True for a maintenance-mode client (no client certificate, no node routing). */
  readonly maintenanceMode: boolean;
  /** The transport every call goes through, for `createClient(Service, client.transport)`. */
  readonly transport: TalosTransport;

  private readonly states: NodeStates;
  private readonly bound = new Map<string, NodeClient>();

  private constructor(
    endpoints: readonly string[],
    tls: TlsSettings,
    options: ClientOptions & {
      nodes: readonly string[];
      roles: readonly string[];
      maintenance: boolean;
    },
  ) {
    this.nodes = options.nodes;
    this.roles = options.roles;
    this.maintenanceMode = options.maintenance;
    this.states = new NodeStates({
      version: (node) => this.readVersion(node),
      definitions: (node) => this.readDefinitions(node),
      bootId: (node) => this.readBootId(node),
    });
    this.transport = new TalosTransport({
      ...options,
      endpoints,
      tls,
      interceptors: [nodeStateInterceptor(this.states), ...(options.interceptors ?? [])],
      explainError: (error, method, node) => this.explain(error, method, node),
      onConnectionDropped: () => this.states.forget(),
    });
    const services = serviceClients(this.transport);
    this.machine = services.machine;
    this.image = services.image;
    this.lifecycle = services.lifecycle;
    this.storage = services.storage;
    this.time = services.time;
    this.cluster = services.cluster;
    this.inspect = services.inspect;
    this.lvm = services.lvm;
    this.md = services.md;
    this.debug = services.debug;
    this.cosi = services.cosi;
    this.resources = new Resources(this);
    this.streams = new Streams(this);
  }

  /** Connects with explicit endpoints and PEM credentials. */
  static connect(options: ConnectOptions): TalosClient {
    const creds = prepareCredentials(options);
    return TalosClient.withCredentials(options.endpoints, options.nodes ?? [], creds, options);
  }

  /** A client with a certificate: what connect() and fromTalosconfig() both end in. */
  private static withCredentials(
    endpoints: readonly string[],
    nodes: readonly string[],
    creds: PemCredentials & { roles: string[] },
    options: ClientOptions & { serverName?: string | undefined },
  ): TalosClient {
    const tls = { ca: creds.ca, cert: creds.cert, key: creds.key, serverName: options.serverName };
    return new TalosClient(endpoints, tls, {
      ...options,
      nodes,
      roles: creds.roles,
      maintenance: false,
    });
  }

  /**
   * Connects with a talosconfig: the file from `path`, $TALOSCONFIG,
   * $TALOS_HOME/config or ~/.talos/config; its current or named context;
   * endpoints and nodes optionally overridden.
   */
  static async fromTalosconfig(options: FromTalosconfigOptions = {}): Promise<TalosClient> {
    const { config, path } = await loadTalosconfig({ path: options.path, env: options.env });
    const ctx = resolveContext(config, { ...options, path });
    if (ctx.endpoints.length === 0) {
      throw new TalosconfigError(
        "TALOSCONFIG_NO_ENDPOINTS",
        `context "${ctx.name}" in ${path} has no endpoints; set them in the file or pass endpoints`,
        { path },
      );
    }
    const where = ` of context "${ctx.name}" in ${path}`;
    const creds = prepareCredentials({ ca: ctx.ca, cert: ctx.cert, key: ctx.key }, where);
    return TalosClient.withCredentials(ctx.endpoints, ctx.nodes, creds, options);
  }

  /**
   * Connects to an unconfigured node in maintenance mode: no client
   * certificate; the server is verified by SPKI fingerprint pins, or not at
   * all when `insecure: "skip-verification-i-know"` is given.
   */
  static maintenance(options: MaintenanceOptions): TalosClient {
    const skip = options.insecure === "skip-verification-i-know";
    if (options.insecure !== undefined && !skip) {
      throw new TalosError(
        "INVALID_ARGUMENT",
        'maintenance: insecure must be exactly "skip-verification-i-know" to skip server verification',
      );
    }
    if (!skip && !options.fingerprints?.length) {
      throw new TalosError(
        "INVALID_ARGUMENT",
        'maintenance: give the server certificate fingerprints, or insecure: "skip-verification-i-know"',
      );
    }
    const tls = { fingerprints: options.fingerprints, skipVerification: skip };
    return new TalosClient([options.endpoint], tls, {
      ...options,
      nodes: [],
      roles: [],
      maintenance: true,
    });
  }

  /** The endpoints this client connects to ("host:port"). */
  get endpoints(): readonly string[] {
    return this.transport.endpoints;
  }

  /** The services of one node: `client.at("10.5.0.2").machine.reboot({})`. */
  at(node: string): NodeClient {
    let bound = this.bound.get(node);
    if (!bound) {
      bound = { node, ...serviceClients(nodeTransport(this.transport, node)) };
      this.bound.set(node, bound);
    }
    return bound;
  }

  /** The services on `node`, or on the endpoint's own node when it is undefined. */
  services(node: string | undefined): TalosServices {
    return node === undefined || this.maintenanceMode ? this : this.at(node);
  }

  /** What the client knows of a node: its version, resource definitions and boot ID. */
  nodeState(node: string | undefined): NodeState {
    return this.states.of(this.maintenanceMode ? undefined : node);
  }

  /** Forgets what the client knows of a node (of every node without one). */
  forget(node?: string): void {
    this.states.forget(node);
  }

  /**
   * Runs `fn` for every node, at most `concurrency` at a time (default 16),
   * and returns one result per node in input order: `{ node, value }` or
   * `{ node, error }`. `client.nodes` are the usual targets.
   */
  onNodes<T>(
    nodes: readonly string[],
    fn: (node: string, signal: AbortSignal) => Promise<T>,
    options: OnNodesOptions = {},
  ): Promise<NodeResult<T>[]> {
    return runOnNodes(nodes, fn, options);
  }

  /** Closes the connections. */
  close(): void {
    this.transport.close();
  }

  private async readVersion(node: string | undefined): Promise<string | undefined> {
    const reply = await this.services(node).machine.version({}, { timeoutMs: 10_000 });
    return reply.messages[0]?.version?.tag || undefined;
  }

  private async readDefinitions(node: string | undefined) {
    const out = [];
    const list = this.services(node).cosi.list(
      { namespace: "meta", type: RESOURCE_DEFINITION_TYPE },
      { timeoutMs: 30_000 },
    );
    for await (const msg of list) if (msg.resource) out.push(definitionOf(msg.resource));
    return out;
  }

  private async readBootId(node: string | undefined): Promise<string | undefined> {
    const reply = await this.services(node).cosi.get(
      { namespace: "runtime", type: "BootIDs.runtime.talos.dev", id: "boot-id" },
      { timeoutMs: 10_000 },
    );
    const spec = specObject(reply.resource?.spec?.yamlSpec ?? "", "boot ID");
    return typeof spec.bootID === "string" && spec.bootID ? spec.bootID : undefined;
  }

  /** Adds what the client knows to an error: the roles a call needs, the node's version. */
  private async explain(
    err: TalosError,
    method: DescMethod,
    node: string | undefined,
  ): Promise<TalosError> {
    const procedure = `${method.parent.typeName}/${method.name}`;
    const where = err.node ? ` on node ${err.node}` : "";
    if (err instanceof PermissionDeniedError && !err.requiredRoles) {
      const roles = requiredRoles(procedure);
      const have = this.roles.length ? this.roles.join(", ") : "none";
      const need = roles
        ? `it needs role ${roles.join(" or ")}`
        : method.parent.typeName === "cosi.resource.State"
          ? "reading sensitive resources needs role os:admin"
          : "it needs a role with more rights";
      return new PermissionDeniedError(
        `${procedure}${where} was denied: ${need}; this client's certificate has roles: ${have}`,
        {
          node: err.node,
          cause: err.cause,
          grpcCode: err.grpcCode,
          procedure,
          requiredRoles: roles,
        },
      );
    }
    if (err instanceof UnimplementedError && !err.nodeVersion && method.name !== "Version") {
      const version = await this.nodeState(node).talosVersion();
      const added = rpcAddedIn(procedure);
      const why = version ? explainUnavailable(procedure, version) : undefined;
      const mode = this.maintenanceMode ? ", maintenance mode" : "";
      const message = why
        ? `${procedure} is not available${where}: it runs Talos ${version}, and ${why}`
        : version
          ? `${procedure} is not implemented${where} (Talos ${version}${mode})`
          : `${procedure} is not implemented${where}${mode ? " (maintenance mode)" : ""}`;
      return new UnimplementedError(message, {
        node: err.node,
        cause: err.cause,
        grpcCode: err.grpcCode,
        procedure,
        nodeVersion: version,
        availableSince: added,
      });
    }
    return err;
  }
}
