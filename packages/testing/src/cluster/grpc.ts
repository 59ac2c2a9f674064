import type { DescMessage, DescMethod, DescService, MessageShape } from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

/** The full gRPC path of a method, e.g. `/machine.MachineService/Version`. */
export function methodPath(m: DescMethod): string {
  return `/${m.parent.typeName}/${m.name}`;
}

/** A gRPC error with a status code, as grpc-js sends it. */
export class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** Shorthand to build a status error. */
export function status(code: grpc.status, message: string): StatusError {
  return new StatusError(code, message);
}

/** A grpc-js service definition that (de)serialises with protobuf-es schemas. */
export function serviceDefinition(svc: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of svc.methods) {
    def[m.name] = {
      path: methodPath(m),
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: (v: unknown) =>
        Buffer.from(toBinary(m.input, v as MessageShape<DescMessage>)),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (v: unknown) =>
        Buffer.from(toBinary(m.output, v as MessageShape<DescMessage>)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
      originalName: m.localName,
    };
  }
  return def as grpc.ServiceDefinition;
}

/** A grpc-js service definition that passes raw bytes through (for the router). */
export function rawServiceDefinition(svc: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const id = (b: unknown) => b as Buffer;
  for (const m of svc.methods) {
    def[m.name] = {
      path: methodPath(m),
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: id,
      requestDeserialize: id,
      responseSerialize: id,
      responseDeserialize: id,
    };
  }
  return def as grpc.ServiceDefinition;
}

/** Convert any thrown value to a grpc-js service error (never leaking key material). */
export function toServiceError(err: unknown): grpc.ServiceError {
  if (err instanceof StatusError) {
    return Object.assign(new Error(err.message), {
      code: err.code,
      details: err.message,
      metadata: new grpc.Metadata(),
    });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(msg), {
    code: grpc.status.INTERNAL,
    details: msg,
    metadata: new grpc.Metadata(),
  });
}
