// Retries as an interceptor: a read-only call that failed because its node or
// endpoint could not be reached, or went away under it, is sent again, with
// backoff, within the call's deadline. A call that changes a node is sent
// again only when no server processed it (never connected, or refused by a
// server going away); a stream is only opened again while none of its
// messages has arrived.
import type { Interceptor, StreamRequest, StreamResponse, UnaryRequest } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { retry } from "@taloskit/core";
import { NODE_KEY, RETRY_KEY } from "./context.js";
import { recorded } from "./error-interceptor.js";
import { TalosError } from "./errors.js";
import {
  isRetryable,
  isTransient,
  isUnprocessed,
  type RetryPolicy,
  type RetrySetting,
  resolveRetry,
  sendsOneRequest,
} from "./retry-policy.js";

/** Retries read-only calls after transient failures; `base` is the client's setting. */
export function retryInterceptor(base: RetrySetting | undefined): Interceptor {
  // Checked here so that a bad setting fails at connect, not at the first call.
  const clientPolicy = resolveRetry(base, undefined, "connect");
  return (next) => async (req) => {
    if (!sendsOneRequest(req.method)) return next(req);
    const retryable = isRetryable(req.method) ? isTransient : isUnprocessed;
    const procedure = `${req.method.parent.typeName}/${req.method.name}`;
    const override = req.contextValues.get(RETRY_KEY);
    const policy = override === undefined ? clientPolicy : resolveRetry(base, override, procedure);
    if (!policy) return next(req);
    const timeout = parseTimeout(req.header.get("grpc-timeout"), Number.MAX_SAFE_INTEGER).timeoutMs;
    const deadline = timeout === undefined ? undefined : Date.now() + timeout;
    const node = req.contextValues.get(NODE_KEY);
    const call = { procedure, node, policy, timeout, deadline, retryable };
    if (!req.stream) {
      return retry((n) => next(n === 1 ? req : withTimeLeft(req, deadline)), loopOf(call, req));
    }
    // A server stream's one request is kept so that it can be sent again.
    const sent: unknown[] = [];
    for await (const m of req.message) sent.push(m);
    const open = async (n: number) => {
      const attempt = { ...(n === 1 ? req : withTimeLeft(req, deadline)), message: replay(sent) };
      const res = (await next(attempt as StreamRequest)) as StreamResponse;
      const it = res.message[Symbol.asyncIterator]();
      return { ...res, message: prepend(await it.next(), it) };
    };
    return retry(open, loopOf(call, req));
  };
}

interface RetriedCall {
  procedure: string;
  node: string | undefined;
  policy: RetryPolicy;
  timeout: number | undefined;
  deadline: number | undefined;
  /** Which failures this call may be sent again after. */
  retryable: (error: unknown) => boolean;
}

function loopOf(call: RetriedCall, req: UnaryRequest | StreamRequest) {
  const signal = req.signal;
  const where = call.node ? ` on node ${call.node}` : "";
  const expired = (n: number, last: TalosError) =>
    new TalosError(
      "DEADLINE_EXCEEDED",
      `${call.procedure}${where} timed out after ${call.timeout} ms and ${n} attempt${n === 1 ? "" : "s"}; the last one failed: ${last.message}`,
      { node: call.node, procedure: call.procedure, cause: last },
    );
  return {
    policy: call.policy,
    signal,
    deadline: call.deadline,
    shouldRetry: call.retryable,
    normalize: (error: unknown) => error as TalosError,
    onRetry: (attempt: number, delayMs: number, error: TalosError) =>
      call.policy.onRetry?.({
        attempt,
        delayMs,
        error,
        procedure: call.procedure,
        node: call.node,
      }),
    expired: (n: number, last: TalosError) => recorded(req.contextValues, expired(n, last)),
    exhausted: (n: number, last: TalosError) => {
      if (n > 1) last.message += ` (gave up after ${n} attempts)`;
      return last;
    },
    // The call's signal also fires at its deadline: say which one stopped it.
    aborted: (n: number, last: TalosError) => {
      if (call.deadline !== undefined && Date.now() >= call.deadline) {
        return recorded(req.contextValues, expired(n, last));
      }
      const reason = signal.reason;
      const why = reason instanceof Error ? `: ${reason.message}` : "";
      return recorded(
        req.contextValues,
        new TalosError(
          "CANCELED",
          `${call.procedure}${where} was aborted while waiting to retry after attempt ${n} failed (${last.message})${why}`,
          { node: call.node, procedure: call.procedure, cause: reason ?? last },
        ),
      );
    },
  };
}

/** The request of a later attempt, telling the server the time left of the call's deadline. */
function withTimeLeft<R extends UnaryRequest | StreamRequest>(
  req: R,
  deadline: number | undefined,
): R {
  if (deadline === undefined) return req;
  const header = new Headers(req.header);
  header.set("grpc-timeout", `${Math.max(1, deadline - Date.now())}m`);
  return { ...req, header };
}

async function* replay<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function* prepend<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}
