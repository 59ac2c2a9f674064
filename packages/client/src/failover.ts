// Failover across endpoints: a request goes to the endpoint that last worked;
// when that one cannot be reached and nothing of the request was sent yet, it
// moves on to the next. A request whose body was read never moves.
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { clientClosedError, connectionErrorFrom, isConnectFailure, TalosError } from "./errors.js";
import type { EndpointSession } from "./session.js";

/** An HTTP client for connect-es's gRPC protocol that fails over between endpoint sessions. */
export function failoverClient(
  sessions: readonly EndpointSession[],
  /** The node errors name when a call has no node metadata (maintenance mode: the endpoint). */
  label?: string | undefined,
): UniversalClientFn {
  let ordered = sessions;
  const prefer = (session: EndpointSession) => {
    if (ordered[0] === session) return;
    const i = sessions.indexOf(session);
    ordered = [...sessions.slice(i), ...sessions.slice(0, i)];
  };
  return async (req) => {
    const path = new URL(req.url).pathname;
    const body = req.body ? watchPull(req.body) : undefined;
    let last: unknown;
    for (const session of ordered) {
      // A closed client never reconnects (a retry of a call cut by close() ends here).
      if (session.closed) throw clientClosedError(path.slice(1), req.header.get("node") ?? label);
      try {
        const res = await session.request({
          ...req,
          url: `${session.endpoint.url}${path}`,
          body: body?.iterable,
        });
        prefer(session);
        session.succeeded();
        return res;
      } catch (caught) {
        const node = req.header.get("node") ?? label;
        const explained = await session.explain(caught, req.signal, node);
        last =
          explained instanceof TalosError
            ? explained
            : (connectionErrorFrom(explained, { endpoint: session.endpoint.id, node }) ??
              explained);
        if (req.signal?.aborted || body?.pulled() || !isConnectFailure(last)) throw last;
      }
    }
    throw last;
  };
}

/** A body whose reader is noticed: once it has been pulled from, the request cannot move. */
function watchPull(source: AsyncIterable<Uint8Array>) {
  let pulled = false;
  const iterable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      return {
        next: () => {
          pulled = true;
          return it.next();
        },
        return: (value?: unknown) =>
          it.return ? it.return(value) : Promise.resolve({ done: true, value: undefined }),
      };
    },
  };
  return { iterable, pulled: () => pulled };
}
