// Client-side fan-out: one call per node, a bounded number at a time, one
// result per node whether it succeeded or failed.
import { setMaxListeners } from "node:events";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type TalosError, toTalosError } from "./errors.js";

/** The outcome of a call on one node. */
export type NodeResult<T> = { node: string; value: T } | { node: string; error: TalosError };

/** Options of onNodes(). */
export interface OnNodesOptions {
  /** Most calls in flight at once (default 16). */
  concurrency?: number;
  /** Aborts every call still running or not yet started. */
  signal?: AbortSignal;
}

/** Runs `fn` once per node with bounded concurrency; results keep the order of `nodes`. */
export async function runOnNodes<T>(
  nodes: readonly string[],
  fn: (node: string, signal: AbortSignal) => Promise<T>,
  options: OnNodesOptions = {},
): Promise<NodeResult<T>[]> {
  const limit = Math.max(1, Math.floor(options.concurrency ?? 16));
  const results: NodeResult<T>[] = new Array(nodes.length);
  const controller = new AbortController();
  // Every call in flight listens on this signal; past ten Node would print a leak warning.
  setMaxListeners(0, controller.signal);
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let next = 0;
  const worker = async () => {
    while (next < nodes.length) {
      const i = next++;
      const node = nodes[i] as string;
      try {
        if (controller.signal.aborted) {
          throw new ConnectError("the fan-out was aborted", Code.Canceled);
        }
        results[i] = { node, value: await fn(node, controller.signal) };
      } catch (error) {
        const err = toTalosError(error, { node });
        results[i] = { node, error: err.node ? err : withNode(err, node) };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  return results;
}

function withNode(err: TalosError, node: string): TalosError {
  Object.defineProperty(err, "node", { value: node, enumerable: true });
  return err;
}

/** The shape of a legacy one-to-many response: `messages`, each with common.Metadata. */
interface LegacyResponse<M> {
  messages: M[];
}
type WithMetadata = Message & {
  metadata?: { hostname: string; error: string; status?: { code: number; message: string } };
};

/**
 * Splits a response to a call made with deprecated `nodes` metadata into one
 * result per node: entries whose common.Metadata carries an error become
 * typed errors (status code kept), the others values.
 */
export function legacyResults<M extends WithMetadata>(
  response: LegacyResponse<M>,
): NodeResult<M>[] {
  return response.messages.map((m) => {
    const node = m.metadata?.hostname ?? "";
    const message = m.metadata?.error;
    if (message) {
      const code = (m.metadata?.status?.code ?? Code.Unknown) as Code;
      return { node, error: toTalosError(new ConnectError(message, code), { node }) };
    }
    return { node, value: m };
  });
}
