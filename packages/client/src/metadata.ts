// Talos's call metadata: the target node (or the deprecated node list) and the
// runtime marker, with the headers only apid may set removed.
import type { Interceptor } from "@connectrpc/connect";
import { LEGACY_NODES_KEY, NODE_KEY } from "./context.js";
import { TalosError } from "./errors.js";

/**
 * Sets Talos metadata on every call. With `maintenance` the node metadata is
 * left out: an unconfigured node has no apid to route it.
 */
export function metadataInterceptor(options: { maintenance?: boolean } = {}): Interceptor {
  return (next) => (req) => {
    req.header.delete("proxyfrom");
    req.header.delete("talos-role");
    req.header.delete("node");
    req.header.delete("nodes");
    req.header.set("runtime", "Talos");
    if (!options.maintenance) {
      const node = req.contextValues.get(NODE_KEY);
      const legacy = req.contextValues.get(LEGACY_NODES_KEY);
      if (node) req.header.set("node", node);
      else if (legacy?.length) {
        const bad = legacy.find((n) => !n.trim() || n.includes(","));
        if (bad !== undefined) {
          throw new TalosError(
            "INVALID_ARGUMENT",
            `legacyNodes: ${JSON.stringify(bad)} is not a node name (empty, or holds a comma)`,
          );
        }
        // One value per node; the session manager sends each as a header field of its own.
        for (const n of legacy) req.header.append("nodes", n.trim());
      }
    }
    return next(req);
  };
}
