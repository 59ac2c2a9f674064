// The gRPC protocol (binary, uncompressed, as Talos speaks it) as a connect-es
// Transport over an HTTP client: connect-es runs the call (interceptors,
// deadline, signal) and validates headers and trailers; the framing of
// messages is done here. connect-es's own gRPC transport passes each message
// through a chain of async generators and copies every incoming message into
// a fresh zero-filled buffer; here a message that arrived in one piece is
// parsed where it lies, which is most of a byte stream's client CPU.
import {
  create,
  type DescMessage,
  type DescMethod,
  isMessage,
  type Message,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  createMethodUrl,
  getAbortSignalReason,
  runStreamingCall,
  type Serialization,
  type UniversalClientFn,
} from "@connectrpc/connect/protocol";
import {
  headerGrpcStatus,
  requestHeaderWithCompression,
  validateResponseWithCompression,
  validateTrailer,
} from "@connectrpc/connect/protocol-grpc";

/** Request headers as a Transport takes them. */
type Header = ConstructorParameters<typeof Headers>[0];

/** Options of grpcTransport(). */
export interface GrpcTransportOptions {
  httpClient: UniversalClientFn;
  baseUrl: string;
  interceptors: Interceptor[];
  /** Largest message read or written, in bytes. */
  maxMessageBytes: number;
}

/** Bytes of the gRPC message prefix: a flags byte and a 32-bit big-endian length. */
const PREFIX = 5;
/** Flag of a compressed message; Talos never compresses (no grpc-encoding is offered). */
const COMPRESSED = 0b1;

/** A connect-es Transport speaking gRPC over `httpClient`. */
export function grpcTransport(options: GrpcTransportOptions): Transport {
  const limits = { readMaxBytes: options.maxMessageBytes, writeMaxBytes: options.maxMessageBytes };
  const serializers = new WeakMap<DescMethod, Serializers>();
  const serializersOf = (method: DescMethod): Serializers => {
    const known = serializers.get(method);
    if (known) return known;
    const lookup = createMethodSerializationLookup(
      method as Parameters<typeof createMethodSerializationLookup>[0],
      undefined,
      undefined,
      limits,
    );
    const made = { input: lookup.getI(true), output: lookup.getO(true) };
    serializers.set(method, made);
    return made;
  };
  /** What connect-es's call runner takes besides the signal: the request before the interceptors. */
  const request = <D extends DescMethod, M>(
    method: D,
    timeoutMs: number | undefined,
    header: Header | undefined,
    contextValues: ContextValues | undefined,
    message: M,
  ) => ({
    method,
    service: method.parent,
    requestMethod: "POST",
    url: createMethodUrl(options.baseUrl, method),
    header: requestHeaderWithCompression(true, timeoutMs, header, [], null),
    contextValues: contextValues ?? createContextValues(),
    message,
  });
  /** Sends a request, after the interceptors, with its framed body. */
  const post = (
    req: { url: string; header: Headers; signal: AbortSignal },
    body: AsyncIterable<Uint8Array>,
  ) =>
    options.httpClient({
      url: req.url,
      method: "POST",
      header: req.header,
      signal: req.signal,
      body,
    });

  // The chain of interceptors around a unary call, built once: it reads the
  // method from the request instead of closing over it.
  const unaryCall = applyInterceptors(async (req: UnaryRequest): Promise<UnaryResponse> => {
    const { input, output } = serializersOf(req.method);
    const body = frame(input.serialize(req.message), limits.writeMaxBytes);
    const res = await post(req, once(body));
    const { headerError } = validateResponseWithCompression([], res.status, res.header);
    let answer: Message | undefined;
    for await (const m of messages(res.body, output, limits.readMaxBytes)) {
      if (answer) {
        throw new ConnectError(
          "protocol error: received extra output message for unary method",
          Code.Unimplemented,
        );
      }
      answer = m;
    }
    validateTrailer(res.trailer, res.header);
    if (!answer) {
      // A trailers-only answer.
      if (headerError) throw headerError;
      throw new ConnectError(
        "protocol error: missing output message for unary method",
        res.trailer.has(headerGrpcStatus) ? Code.Unimplemented : Code.Unknown,
      );
    }
    if (headerError) {
      throw new ConnectError(
        "protocol error: received output message for unary method with error status",
        Code.Unknown,
      );
    }
    const { method } = req;
    return {
      stream: false,
      service: method.parent,
      method,
      header: res.header,
      message: answer,
      trailer: res.trailer,
    };
  }, options.interceptors);

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethod & { methodKind: "unary"; input: I; output: O },
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: Header | undefined,
      message: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      timeoutMs = timeoutMs !== undefined && timeoutMs <= 0 ? undefined : timeoutMs;
      const call = callSignal(signal, timeoutMs);
      const input: DescMessage = method.input;
      const normalized = isMessage(message, input)
        ? message
        : create(input, message as MessageInitShape<DescMessage>);
      try {
        return (await unaryCall({
          stream: false,
          signal: call.signal,
          ...request(method, timeoutMs, header, contextValues, normalized as Message),
        })) as UnaryResponse<I, O>;
      } catch (error) {
        throw call.fail(error);
      } finally {
        call.release();
      }
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethod & { input: I; output: O },
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: Header | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const s = serializersOf(method);
      timeoutMs = timeoutMs !== undefined && timeoutMs <= 0 ? undefined : timeoutMs;
      return runStreamingCall<I, O>({
        interceptors: options.interceptors,
        signal,
        timeoutMs,
        req: {
          stream: true,
          ...request(
            method as never as StreamRequest<I, O>["method"],
            timeoutMs,
            header,
            contextValues,
            input,
          ),
        },
        next: async (req) => {
          const res = await post(req, frames(req.message, s.input, limits.writeMaxBytes));
          const { foundStatus, headerError } = validateResponseWithCompression(
            [],
            res.status,
            res.header,
          );
          if (headerError) throw headerError;
          const message = (async function* () {
            yield* messages(res.body, s.output, limits.readMaxBytes);
            if (!foundStatus) validateTrailer(res.trailer, res.header);
          })();
          return {
            ...req,
            header: res.header,
            trailer: res.trailer,
            message,
          } as StreamResponse<I, O>;
        },
      });
    },
  };
}

/** Wraps `next` in the interceptors, the first one outermost. */
function applyInterceptors<F>(next: F, interceptors: readonly Interceptor[]): F {
  return interceptors.reduceRight((n, interceptor) => interceptor(n as never) as F, next);
}

/**
 * The signal of one call: it fires when the caller's signal does or at the
 * deadline. Unlike connect-es's, it is not fired when the call succeeds (that
 * made an AbortError, with its stack, on every call): its listeners are
 * removed instead.
 */
function callSignal(caller: AbortSignal | undefined, timeoutMs: number | undefined) {
  const controller = new AbortController();
  const onAbort = () => controller.abort(getAbortSignalReason(caller as AbortSignal));
  if (caller?.aborted) onAbort();
  else caller?.addEventListener("abort", onAbort);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
          timeoutMs,
        );
  return {
    signal: controller.signal,
    /** The error a failed call ends with; what is still running of it is aborted. */
    fail(error: unknown): ConnectError {
      const err = controller.signal.aborted
        ? ConnectError.from(getAbortSignalReason(controller.signal), Code.Canceled)
        : ConnectError.from(error);
      controller.abort(err);
      return err;
    },
    release() {
      clearTimeout(timer);
      caller?.removeEventListener("abort", onAbort);
    },
  };
}

interface Serializers {
  input: Serialization<Message>;
  output: Serialization<Message>;
}

/** A message with its gRPC prefix. */
function frame(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.length > maxBytes) {
    throw new ConnectError(
      `message size ${bytes.length} is larger than configured writeMaxBytes ${maxBytes}`,
      Code.ResourceExhausted,
    );
  }
  const out = new Uint8Array(PREFIX + bytes.length);
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, PREFIX);
  return out;
}

async function* once(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  yield chunk;
}

async function* frames(
  source: AsyncIterable<unknown>,
  serializer: Serialization<Message>,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  for await (const m of source) yield frame(serializer.serialize(m as Message), maxBytes);
}

/**
 * The messages of a response body. A message that lies whole in one chunk is
 * parsed in place; one split over chunks is joined once.
 * @internal
 */
export async function* messages<T>(
  body: AsyncIterable<Uint8Array>,
  serializer: Serialization<T>,
  maxBytes: number,
): AsyncGenerator<T> {
  // Bytes received and not yet parsed, in arrival order.
  let parts: Uint8Array[] = [];
  let size = 0;
  let need = PREFIX;
  for await (const chunk of body) {
    parts.push(chunk);
    size += chunk.length;
    while (size >= need) {
      let buf = parts.length === 1 ? (parts[0] as Uint8Array) : join(parts, size);
      let offset = 0;
      while (buf.length - offset >= PREFIX) {
        const flags = buf[offset] as number;
        const length = new DataView(buf.buffer, buf.byteOffset + offset + 1, 4).getUint32(0);
        if (length > maxBytes) {
          throw new ConnectError(
            `message size ${length} is larger than configured readMaxBytes ${maxBytes}`,
            Code.ResourceExhausted,
          );
        }
        if (buf.length - offset - PREFIX < length) break;
        if (flags & COMPRESSED) {
          throw new ConnectError(
            "received compressed envelope, but do not know how to decompress",
            Code.Internal,
          );
        }
        const start = offset + PREFIX;
        offset = start + length;
        yield serializer.parse(buf.subarray(start, offset));
      }
      buf = buf.subarray(offset);
      parts = buf.length ? [buf] : [];
      size = buf.length;
      need =
        size >= PREFIX
          ? PREFIX + new DataView(buf.buffer, buf.byteOffset + 1, 4).getUint32(0)
          : PREFIX;
    }
  }
  if (size > 0) {
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
}

/** The parts as one buffer (not zero-filled first: every byte is copied over). */
function join(parts: Uint8Array[], size: number): Uint8Array {
  return Buffer.concat(parts, size);
}
