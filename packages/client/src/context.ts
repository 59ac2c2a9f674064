// What a call carries for the Talos interceptors besides its request: the
// target node, the deprecated multi-node targets and its retry setting, as
// connect-es context values.
import {
  type ContextKey,
  type ContextValues,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import type { RetrySetting } from "./retry-policy.js";

/** The node that runs a call (sent as `node` metadata; apid proxies the call to it). */
export const NODE_KEY = createContextKey<string | undefined>(undefined, {
  description: "talos node",
});
/** Deprecated apid multi-node proxying (sent as `nodes` metadata). */
export const LEGACY_NODES_KEY = createContextKey<readonly string[] | undefined>(undefined, {
  description: "talos nodes (deprecated)",
});
/** A call's own retry setting, over the client's. */
export const RETRY_KEY = createContextKey<RetrySetting | undefined>(undefined, {
  description: "talos retry",
});

/** Where the interceptors leave a call's last typed error, for the transport to hand back. */
export const OUTCOME_KEY = createContextKey<{ error?: unknown } | undefined>(undefined, {
  description: "talos call outcome",
});

/**
 * Context values over `base` with `key` set to `value`: the caller's own
 * values are read through and never changed, so one object may serve many calls.
 */
export function withContextValue<T>(
  base: ContextValues | undefined,
  key: ContextKey<T>,
  value: T,
): ContextValues {
  const own = createContextValues().set(key, value);
  const owned = new Set<symbol>([key.id]);
  return {
    get: (k) => (owned.has(k.id) || !base ? own.get(k) : base.get(k)),
    set(k, v) {
      owned.add(k.id);
      own.set(k, v);
      return this;
    },
    delete(k) {
      owned.add(k.id);
      own.delete(k);
      return this;
    },
  };
}

/** What a call may say to the Talos interceptors. */
export interface TalosContext {
  /** The node that runs the call; `client.at(node)` sets it for every call of its services. */
  node?: string | undefined;
  /**
   * Deprecated apid multi-node proxying. Responses then carry common.Metadata
   * per node; decode them with legacyResults().
   */
  legacyNodes?: readonly string[] | undefined;
  /**
   * Retries of this call, over the client's setting: `false` for none, or
   * options. Only read-only calls are ever retried, and only after transient
   * failures; the call's timeout covers every attempt and backoff sleep.
   */
  retry?: RetrySetting | undefined;
}

/**
 * Context values for one call, e.g.
 * `client.machine.version({}, { contextValues: talosContext({ retry: false }) })`.
 */
export function talosContext(values: TalosContext, base?: ContextValues): ContextValues {
  const ctx = base ?? createContextValues();
  if (values.node !== undefined) ctx.set(NODE_KEY, values.node);
  if (values.legacyNodes !== undefined) ctx.set(LEGACY_NODES_KEY, values.legacyNodes);
  if (values.retry !== undefined) ctx.set(RETRY_KEY, values.retry);
  return ctx;
}
