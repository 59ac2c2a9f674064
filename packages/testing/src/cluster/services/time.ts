// TimeService: the node's clock against a time server (the default one, or
// the one a request names; ".invalid" names fail as an unknown host).
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { Impls, UnaryImpl } from "../handlers.js";
import { timestamp } from "../util.js";

const { status: S } = grpc;

/** The time server a node asks when the request names none (Talos's default). */
const DEFAULT_TIME_SERVER = "time.cloudflare.com";

/** Time and TimeCheck; they read nothing of the node. */
export function timeImpls(): Impls {
  return {
    "/time.TimeService/Time": (() => {
      const now = Date.now();
      return {
        messages: [
          { server: DEFAULT_TIME_SERVER, localtime: timestamp(now), remotetime: timestamp(now) },
        ],
      };
    }) as UnaryImpl,
    "/time.TimeService/TimeCheck": ((req: { server: string }) => {
      const server = req.server || DEFAULT_TIME_SERVER;
      // ".invalid" never resolves (RFC 2606): a way for tests to reach the failure path.
      if (server.endsWith(".invalid") || /\s/.test(server))
        throw status(
          S.INTERNAL,
          `failed to query time server ${server}: lookup ${server}: no such host`,
        );
      const now = Date.now();
      return { messages: [{ server, localtime: timestamp(now), remotetime: timestamp(now) }] };
    }) as UnaryImpl,
  };
}
