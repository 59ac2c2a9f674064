// Errors are typed once, where they leave the wire: an interceptor that turns
// whatever a call failed with into a TalosError naming the node and the call.
import type { DescMethod } from "@bufbuild/protobuf";
import type { ContextValues, Interceptor } from "@connectrpc/connect";
import { NODE_KEY, OUTCOME_KEY } from "./context.js";
import { type TalosError, toTalosError } from "./errors.js";

/** Adds what a client knows to a typed error: the roles a call needs, the node's version. */
export type ExplainError = (
  error: TalosError,
  method: DescMethod,
  node: string | undefined,
) => Promise<TalosError>;

/**
 * Types every error of a call, once, where it leaves the wire: a TalosError
 * naming the node and the procedure, made more precise by `explain`. Errors
 * of a stream are typed as the stream is read.
 */
export function errorInterceptor(
  options: { label?: string | undefined; explain?: ExplainError | undefined } = {},
): Interceptor {
  return (next) => async (req) => {
    const node = options.label ?? req.contextValues.get(NODE_KEY);
    const ctx = {
      node,
      procedure: `${req.method.parent.typeName}/${req.method.name}`,
      signal: req.signal,
    };
    const typed = (error: unknown): Promise<TalosError> => {
      const err = toTalosError(error, ctx);
      return options.explain ? options.explain(err, req.method, node) : Promise.resolve(err);
    };
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: typedStream(res.message, typed) };
    } catch (error) {
      throw recorded(req.contextValues, await typed(error));
    }
  };
}

/** Leaves a call's typed error where the transport finds it (see OUTCOME_KEY). */
export function recorded<E>(contextValues: ContextValues, error: E): E {
  const outcome = contextValues.get(OUTCOME_KEY);
  if (outcome) outcome.error = error;
  return error;
}

async function* typedStream<T>(
  source: AsyncIterable<T>,
  typed: (error: unknown) => Promise<TalosError>,
): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    throw await typed(error);
  }
}
