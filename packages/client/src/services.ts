// The Talos API services as plain connect-es clients, and what the resource
// and stream helpers need of a client: services for a node and the node's state.
import type { CallOptions, Client, ContextValues, Transport } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
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
import { NODE_KEY, type TalosContext, talosContext, withContextValue } from "./context.js";
import type { NodeState } from "./node-state.js";

/** Every service of the Talos API, as connect-es clients. */
export interface TalosServices {
  readonly machine: Client<typeof MachineService>;
  readonly image: Client<typeof ImageService>;
  readonly lifecycle: Client<typeof LifecycleService>;
  readonly storage: Client<typeof StorageService>;
  readonly time: Client<typeof TimeService>;
  readonly cluster: Client<typeof ClusterService>;
  readonly inspect: Client<typeof InspectService>;
  readonly lvm: Client<typeof LVMService>;
  readonly md: Client<typeof MDService>;
  readonly debug: Client<typeof DebugService>;
  readonly cosi: Client<typeof State>;
}

/** Clients of every service on one transport. */
export function serviceClients(transport: Transport): TalosServices {
  return {
    machine: createClient(MachineService, transport),
    image: createClient(ImageService, transport),
    lifecycle: createClient(LifecycleService, transport),
    storage: createClient(StorageService, transport),
    time: createClient(TimeService, transport),
    cluster: createClient(ClusterService, transport),
    inspect: createClient(InspectService, transport),
    lvm: createClient(LVMService, transport),
    md: createClient(MDService, transport),
    debug: createClient(DebugService, transport),
    cosi: createClient(State, transport),
  };
}

/** A transport whose calls all run on one node (they carry it as their context's node). */
export function nodeTransport(transport: Transport, node: string): Transport {
  const on = (ctx: ContextValues | undefined) => withContextValue(ctx, NODE_KEY, node);
  return {
    unary: (method, signal, timeoutMs, header, input, ctx) =>
      transport.unary(method, signal, timeoutMs, header, input, on(ctx)),
    stream: (method, signal, timeoutMs, header, input, ctx) =>
      transport.stream(method, signal, timeoutMs, header, input, on(ctx)),
  };
}

/** What the resource and stream helpers need of a client. */
export interface NodeScope {
  /** The services, on `node`, or on the endpoint's own node when undefined. */
  services(node: string | undefined): TalosServices;
  /** What is known of a node. */
  nodeState(node: string | undefined): NodeState;
}

/** Options of the resource and stream helpers: a node, cancellation, a deadline, retries. */
export interface TalosCallOptions
  extends Pick<CallOptions, "signal" | "timeoutMs" | "headers">,
    Pick<TalosContext, "retry" | "legacyNodes"> {
  /** The node that runs the call; default: the endpoint's own node. */
  node?: string | undefined;
}

/** The connect-es options of a call made with TalosCallOptions. */
export function callOptionsOf(options: TalosCallOptions, defaults: CallOptions = {}): CallOptions {
  return {
    signal: options.signal ?? defaults.signal,
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    headers: options.headers,
    contextValues:
      options.retry === undefined && options.legacyNodes === undefined
        ? undefined
        : talosContext({ retry: options.retry, legacyNodes: options.legacyNodes }),
  };
}

/**
 * A signal of a call's own that follows the caller's, for streams the reader
 * may leave before their end: `release()` cancels the call then (connect-es's
 * stream iterators cannot), and stops following the caller's signal.
 */
export function ownSignal(caller: AbortSignal | undefined): {
  signal: AbortSignal;
  release: () => void;
} {
  const controller = new AbortController();
  const follow = () => controller.abort(caller?.reason);
  if (caller?.aborted) follow();
  else caller?.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    release: () => {
      caller?.removeEventListener("abort", follow);
      // Canceled, so that the node sees RST_STREAM CANCEL rather than an internal error.
      controller.abort(new ConnectError("the stream was closed by its reader", Code.Canceled));
    },
  };
}
