// The shapes of the simulator's method implementations: what a service module
// exports, and what the node's server hands each call.
import type * as grpc from "@grpc/grpc-js";

/** Context of one call on a node. */
export interface CallContext {
  roles: Set<string>;
  metadata: grpc.Metadata;
  signal: AbortSignal;
}

type Init = Record<string, unknown>;
export type Send = (msg: Init) => Promise<void>;
export type UnaryImpl = (req: never, ctx: CallContext) => Promise<Init> | Init;
export type ServerStreamImpl = (req: never, ctx: CallContext, send: Send) => Promise<void>;
export type ClientStreamImpl = (reqs: AsyncIterable<never>, ctx: CallContext) => Promise<Init>;
export type BidiImpl = (reqs: AsyncIterable<never>, ctx: CallContext, send: Send) => Promise<void>;
export type Impl = UnaryImpl | ServerStreamImpl | ClientStreamImpl | BidiImpl;
/** Implementations keyed by gRPC path ("/machine.MachineService/Version"). */
export type Impls = Record<string, Impl>;
