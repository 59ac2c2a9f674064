// TalosClient: typed access to every Talos API service over one shared
// transport, with a target node per call, fan-out over many nodes, and
// errors that explain themselves.
import { setMaxListeners } from "node:events";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type Client,
  createClient,
  createContextValues,
} from "@connectrpc/connect";
import { ClusterService } from "@taloskit/api/cluster";
import { State } from "@taloskit/api/cosi";
import { InspectService } from "@taloskit/api/inspect";
import {
  DebugService,
  ImageService,
  LifecycleService,
  LVMService,
  MachineService,
  MDService,
} from "@taloskit/api/machine";
import { StorageService } from "@taloskit/api/storage";
import { TimeService } from "@taloskit/api/time";
import { type PemCredentials, prepareCredentials } from "./credentials.js";
import {
  PermissionDeniedError,
  TalosconfigError,
  TalosError,
  toTalosError,
  UnimplementedError,
} from "./errors.js";
import { type NodeResult, type OnNodesOptions, runOnNodes } from "./fanout.js";
import { Resources } from "./resources.js";
import {
  isRetryable,
  type RetryPolicy,
  type RetrySetting,
  resolveRetry,
  runWithRetry,
} from "./retry.js";
import { explainUnavailable, requiredRoles, rpcAddedIn } from "./rpc.js";
import { cancelling, leftEarly, Streams } from "./streams.js";
import { loadTalosconfig, resolveContext, type TalosconfigOptions } from "./talosconfig.js";
import {
  LEGACY_NODES_KEY,
  NODE_KEY,
  NODE_LABEL_KEY,
  TalosTransport,
  type TransportSettings,
} from "./transport.js";

/** Options of every call: the target node, cancellation and a deadline. */
export interface TalosCallOptions extends Omit<CallOptions, "contextValues"> {
  /** The node that runs the call (sent as `node` metadata); default: the client's default node. */
  node?: string | undefined;
  /**
   * Deprecated apid multi-node proxying (`nodes` metadata). Responses then
   * carry common.Metadata per node; decode them with legacyResults().
   */
  legacyNodes?: string[] | undefined;
  /**
   * Retries of this call, over the client's setting: `false` for none, or
   * options. Only read-only calls are ever retried, and only after transient
   * failures; the call's timeout covers every attempt and backoff sleep.
   */
  retry?: RetrySetting | undefined;
}

type WithTalosOptions<F> = F extends (request: infer R, options?: CallOptions) => infer Out
  ? (request: R, options?: TalosCallOptions) => Out
  : never;

/** A service client whose methods take TalosCallOptions. */
export type TalosServiceClient<S extends DescService> = {
  [K in keyof Client<S>]: WithTalosOptions<Client<S>[K]>;
};

/** Calls after which a node may run another Talos version (its cached version is dropped). */
const VERSION_CHANGING = new Set([
  "machine.MachineService/Upgrade",
  "machine.MachineService/Reboot",
  "machine.MachineService/Rollback",
  "machine.MachineService/Reset",
  "machine.LifecycleService/Upgrade",
  "machine.LifecycleService/Install",
]);

/** Options of TalosClient.connect(). */
export interface ConnectOptions extends TransportSettings {
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
  /** Nodes used when a call names none. */
  nodes?: string[] | undefined;
  /** Default timeout of unary calls in milliseconds (default 60 s). */
  defaultTimeoutMs?: number | undefined;
  /** Retries of read-only calls after transient failures (default: DEFAULT_RETRY; false for none). */
  retry?: RetrySetting | undefined;
}

/** Options of TalosClient.fromTalosconfig(). */
export interface FromTalosconfigOptions extends Omit<TalosconfigOptions, "env">, TransportSettings {
  serverName?: string | undefined;
  defaultTimeoutMs?: number | undefined;
  /** Retries of read-only calls after transient failures (default: DEFAULT_RETRY; false for none). */
  retry?: RetrySetting | undefined;
  env?: Record<string, string | undefined>;
}

/** Options of TalosClient.maintenance(). */
export interface MaintenanceOptions extends TransportSettings {
  /** The unconfigured node's address ("host" or "host:port"). */
  endpoint: string;
  /** Accepted SPKI fingerprints (base64 SHA-256) of the node's certificate. */
  fingerprints?: string[] | undefined;
  /** Skip server verification entirely. Must be spelled out to take effect. */
  insecure?: "skip-verification-i-know" | undefined;
  defaultTimeoutMs?: number | undefined;
  /** Retries of read-only calls after transient failures (default: DEFAULT_RETRY; false for none). */
  retry?: RetrySetting | undefined;
}

const SERVICES = {
  machine: MachineService,
  image: ImageService,
  lifecycle: LifecycleService,
  storage: StorageService,
  time: TimeService,
  cluster: ClusterService,
  inspect: InspectService,
  lvm: LVMService,
  md: MDService,
  debug: DebugService,
  cosi: State,
} as const;

/** A client for the Talos machine API and COSI resources. */
export class TalosClient {
  readonly machine: TalosServiceClient<typeof MachineService>;
  readonly image: TalosServiceClient<typeof ImageService>;
  readonly lifecycle: TalosServiceClient<typeof LifecycleService>;
  readonly storage: TalosServiceClient<typeof StorageService>;
  readonly time: TalosServiceClient<typeof TimeService>;
  readonly cluster: TalosServiceClient<typeof ClusterService>;
  readonly inspect: TalosServiceClient<typeof InspectService>;
  readonly lvm: TalosServiceClient<typeof LVMService>;
  readonly md: TalosServiceClient<typeof MDService>;
  readonly debug: TalosServiceClient<typeof DebugService>;
  readonly cosi: TalosServiceClient<typeof State>;
  /** COSI resources: get, list and watch with talosctl-style type names. */
  readonly resources: Resources;
  /** Byte streams (logs, files, snapshots), events and uploads. */
  readonly streams: Streams;
  /** Default target nodes (from the talosconfig context or options). */
  readonly nodes: readonly string[];
  /** Roles in the client certificate (its Organization), empty without one. */
  readonly roles: readonly string[];
  /** True for a maintenance-mode client (no client certificate, no node routing). */
  readonly maintenanceMode: boolean;

  private readonly transport: TalosTransport;
  private readonly defaultTimeoutMs: number;
  private readonly versionCache = new Map<string, Promise<string | undefined>>();
  private readonly label: string | undefined;
  private readonly retry: RetrySetting | undefined;
  /** The client's retry policy, resolved once: calls without a `retry` option share it. */
  private readonly defaultPolicy: RetryPolicy | undefined;

  private constructor(init: {
    transport: TalosTransport;
    nodes: string[];
    roles: string[];
    maintenance: boolean;
    defaultTimeoutMs?: number | undefined;
    retry?: RetrySetting | undefined;
  }) {
    // Checked here so that a bad setting fails at connect, not at the first call.
    this.defaultPolicy = resolveRetry(init.retry, undefined, "connect");
    this.retry = init.retry;
    this.transport = init.transport;
    this.nodes = init.nodes;
    this.roles = init.roles;
    this.maintenanceMode = init.maintenance;
    this.defaultTimeoutMs = init.defaultTimeoutMs ?? 60_000;
    this.label = init.maintenance ? init.transport.endpoints[0] : undefined;
    this.machine = this.wrap(SERVICES.machine);
    this.image = this.wrap(SERVICES.image);
    this.lifecycle = this.wrap(SERVICES.lifecycle);
    this.storage = this.wrap(SERVICES.storage);
    this.time = this.wrap(SERVICES.time);
    this.cluster = this.wrap(SERVICES.cluster);
    this.inspect = this.wrap(SERVICES.inspect);
    this.lvm = this.wrap(SERVICES.lvm);
    this.md = this.wrap(SERVICES.md);
    this.debug = this.wrap(SERVICES.debug);
    this.cosi = this.wrap(SERVICES.cosi);
    this.resources = new Resources(this);
    this.streams = new Streams(this);
  }

  /** Connects with explicit endpoints and PEM credentials. */
  static connect(options: ConnectOptions): TalosClient {
    return TalosClient.withCredentials(
      options.endpoints,
      options.nodes ?? [],
      prepareCredentials(options),
      options,
    );
  }

  /** A client with a certificate: what connect() and fromTalosconfig() both end in. */
  private static withCredentials(
    endpoints: string[],
    nodes: string[],
    creds: PemCredentials & { roles: string[] },
    options: Omit<ConnectOptions, "endpoints" | "nodes" | "ca" | "cert" | "key">,
  ): TalosClient {
    const transport = new TalosTransport(
      endpoints,
      { ca: creds.ca, cert: creds.cert, key: creds.key, serverName: options.serverName },
      options,
    );
    return new TalosClient({
      transport,
      nodes,
      roles: creds.roles,
      maintenance: false,
      defaultTimeoutMs: options.defaultTimeoutMs,
      retry: options.retry,
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
    const transport = new TalosTransport(
      [options.endpoint],
      { fingerprints: options.fingerprints, skipVerification: skip },
      options,
    );
    return new TalosClient({
      transport,
      nodes: [],
      roles: [],
      maintenance: true,
      defaultTimeoutMs: options.defaultTimeoutMs,
      retry: options.retry,
    });
  }

  /** The endpoints this client connects to ("host:port"). */
  get endpoints(): string[] {
    return this.transport.endpoints;
  }

  /**
   * Runs `fn` for every node, at most `concurrency` at a time, and returns one
   * result per node in input order: `{ node, value }` or `{ node, error }`.
   */
  onNodes<T>(
    nodes: readonly string[],
    fn: (node: string, signal: AbortSignal) => Promise<T>,
    options: OnNodesOptions = {},
  ): Promise<NodeResult<T>[]> {
    return runOnNodes(nodes, fn, options);
  }

  /**
   * The Talos version tag a node runs, or undefined when it cannot be read. It is
   * cached per node until the node reboots, upgrades or drops its connection.
   */
  nodeVersion(
    node: string | undefined,
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    const key = node ?? "";
    let cached = this.versionCache.get(key);
    if (!cached) {
      cached = this.raw(SERVICES.machine)
        .version({}, { ...this.callOptions({ node, timeoutMs: 10_000, signal: options.signal }) })
        .then((r) => r.messages[0]?.version?.tag || undefined)
        .catch(() => undefined);
      cached.then((v) => {
        if (v === undefined) this.versionCache.delete(key);
      });
      this.versionCache.set(key, cached);
    }
    return cached;
  }

  /** Closes the connections. */
  close(): void {
    this.transport.close();
  }

  /** @internal Connect call options for a TalosCallOptions: a new object, the call's own. */
  callOptions(options: TalosCallOptions = {}, unary = true): CallOptions {
    const { signal, node, legacyNodes } = options;
    // One signal often serves many calls at once (a deadline over a node's reads, a
    // fan-out): each call listens on it, which is no leak, so Node's limit is lifted here.
    if (signal) setMaxListeners(0, signal);
    const contextValues = createContextValues();
    if (!this.maintenanceMode) {
      if (node) contextValues.set(NODE_KEY, node);
      if (legacyNodes?.length) contextValues.set(LEGACY_NODES_KEY, legacyNodes);
    }
    if (this.label) contextValues.set(NODE_LABEL_KEY, this.label);
    // Every field of CallOptions but contextValues, copied by name: cheaper per call than
    // an object rest, and node, legacyNodes and retry stay ours.
    return {
      signal,
      timeoutMs: options.timeoutMs ?? (unary ? this.defaultTimeoutMs : undefined),
      headers: options.headers,
      onHeader: options.onHeader,
      onTrailer: options.onTrailer,
      contextValues,
    };
  }

  /** @internal A connect-es client of a service on this client's transport. */
  raw<S extends DescService>(service: S): Client<S> {
    return createClient(service, this.transport);
  }

  /** @internal Adds what the node can tell about an error: its version, the roles a call needs. */
  async explain(error: unknown, method: DescMethod, node: string | undefined): Promise<TalosError> {
    const procedure = `${method.parent.typeName}/${method.name}`;
    const err = toTalosError(error, { node, procedure });
    // A node that dropped its connection may come back running another version.
    if (err.code === "UNAVAILABLE" || err.code === "ENDPOINT_UNREACHABLE") {
      this.versionCache.delete(this.maintenanceMode ? "" : (node ?? ""));
    }
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
          cause: err.cause ?? error,
          grpcCode: err.grpcCode,
          procedure,
          requiredRoles: roles,
        },
      );
    }
    if (err instanceof UnimplementedError && !err.nodeVersion && method.name !== "Version") {
      const version = await this.nodeVersion(this.maintenanceMode ? undefined : node);
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
        cause: err.cause ?? error,
        grpcCode: err.grpcCode,
        procedure,
        nodeVersion: version,
        availableSince: added,
      });
    }
    return err;
  }

  private wrap<S extends DescService>(service: S): TalosServiceClient<S> {
    const base = this.raw(service) as unknown as Record<
      string,
      (req: unknown, opts: CallOptions) => unknown
    >;
    const out: Record<string, unknown> = {};
    for (const method of service.methods) {
      const fn = base[method.localName];
      if (!fn) continue;
      // Everything that depends on the method alone is worked out here, once.
      const procedure = `${method.parent.typeName}/${method.name}`;
      const streaming =
        method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
      const unary = method.methodKind === "unary";
      const retryable = isRetryable(method);
      const changesVersion = VERSION_CHANGING.has(procedure);
      out[method.localName] = streaming
        ? (req: unknown, opts?: TalosCallOptions) => {
            if (changesVersion) this.versionCache.delete(opts?.node ?? "");
            const policy = retryable ? this.retryPolicy(procedure, opts) : undefined;
            // connect-es's stream iterators have no return(): a reader leaving early would
            // leave the HTTP/2 stream open. Each stream has an abort of its own for that.
            const own = new AbortController();
            const stream = this.guardStream(
              (o) => fn(req, o) as AsyncIterable<unknown>,
              this.callOptions(opts, false),
              method,
              procedure,
              opts?.node ?? this.label,
              policy,
              own,
            );
            return cancelling(stream, () => own.abort(leftEarly()));
          }
        : async (req: unknown, opts?: TalosCallOptions) => {
            if (changesVersion) this.versionCache.delete(opts?.node ?? "");
            const node = opts?.node ?? this.label;
            const call = this.callOptions(opts, unary);
            const policy = retryable ? this.retryPolicy(procedure, opts) : undefined;
            const ctx = { procedure, node, signal: call.signal, timeoutMs: call.timeoutMs };
            const explain = (error: unknown) =>
              this.explain(error, method, node).then((err) => Promise.reject(err));
            // `call` is this call's own object: each attempt sets its time left on it.
            return runWithRetry(policy, ctx, (remainingMs) => {
              call.timeoutMs = remainingMs;
              return (fn(req, call) as Promise<unknown>).then(undefined, explain);
            });
          };
    }
    return out as TalosServiceClient<S>;
  }

  private retryPolicy(
    procedure: string,
    opts: TalosCallOptions | undefined,
  ): RetryPolicy | undefined {
    const override = opts?.retry;
    if (override === undefined) return this.defaultPolicy;
    return resolveRetry(this.retry, override, procedure);
  }

  /**
   * A server stream that is opened again after a transient failure, as long
   * as no message has arrived yet: after the first one, a failure ends it.
   */
  private async *guardStream<T>(
    open: (options: CallOptions) => AsyncIterable<T>,
    options: CallOptions,
    method: DescMethod,
    procedure: string,
    node: string | undefined,
    policy: RetryPolicy | undefined,
    own: AbortController,
  ): AsyncGenerator<T> {
    // The call runs on `own` signal, which follows the caller's and also fires
    // when the reader leaves before the end: that cancels the HTTP/2 stream.
    const user = options.signal;
    const follow = () => own.abort(user?.reason);
    if (user?.aborted) follow();
    else user?.addEventListener("abort", follow, { once: true });
    const signal = own.signal;
    const ctx = { procedure, node, signal, timeoutMs: options.timeoutMs };
    let over = false;
    try {
      let it: AsyncIterator<T> | undefined;
      const first = await runWithRetry(policy, ctx, async (remainingMs) => {
        it = open({ ...options, signal, timeoutMs: remainingMs })[Symbol.asyncIterator]();
        try {
          return await it.next();
        } catch (error) {
          throw await this.explain(error, method, node);
        }
      }).catch((error) => {
        over = true;
        throw error;
      });
      if (first.done || !it) {
        over = true;
        return;
      }
      const rest = it;
      try {
        yield first.value;
        for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
        over = true;
      } catch (error) {
        over = true;
        throw await this.explain(error, method, node);
      }
    } finally {
      user?.removeEventListener("abort", follow);
      if (!over) own.abort(leftEarly());
    }
  }
}
