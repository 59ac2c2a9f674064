// Streams of the machine API: byte streams (logs, dmesg, files, archives,
// snapshots) that pull from the network only as fast as they are read, decoded
// events, and client-streaming uploads.
import { Readable } from "node:stream";
import type { Message } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import type { ContainerDriver, ContainerdNamespace, Data } from "@taloskit/api/common";
import type {
  DmesgRequest,
  EtcdRecoverResponse,
  EventsRequest,
  ImageServiceImportResponse,
  LogsRequest,
  MachineEvent,
} from "@taloskit/api/machine";
import { apiRegistry } from "@taloskit/api/registry";
import { TalosError, toTalosError } from "./errors.js";
import { callOptionsOf, type NodeScope, ownSignal, type TalosCallOptions } from "./services.js";

/**
 * An iterator over `gen` whose return() and throw() call `cancel` first, at
 * once, even while a next() is still waiting: an async generator would only
 * run its cleanup after that next() settled, which on a quiet stream may be never.
 */
function cancelling<T>(
  gen: AsyncGenerator<T>,
  cancel: () => void,
): AsyncIterableIterator<T> & AsyncGenerator<T> {
  const it: AsyncGenerator<T> = {
    next: (...args: [] | [unknown]) => gen.next(...args),
    async return(value?: unknown) {
      cancel();
      // Settles once a waiting next() has failed with the cancellation.
      await gen.return(undefined).catch(() => undefined);
      return { done: true, value: value as undefined };
    },
    throw(error: unknown) {
      cancel();
      return gen.throw(error);
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

/** An async iterable of byte chunks that also converts to Node and web streams. */
export class ByteStream implements AsyncIterable<Uint8Array> {
  private used = false;
  /**
   * @param open starts the call on a signal of the stream's own, which fires
   *   when the reader leaves before the end (and follows `signal`).
   */
  constructor(
    private readonly open: (signal: AbortSignal) => AsyncIterable<Data>,
    private readonly signal: AbortSignal | undefined,
    private readonly node: string | undefined,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const own = ownSignal(this.signal);
    // Leaving early cancels the call at once.
    return cancelling(this.chunks(own.signal), own.release);
  }

  private async *chunks(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    if (this.used) {
      throw new TalosError("FAILED_PRECONDITION", "a ByteStream can be read once");
    }
    this.used = true;
    for await (const data of this.open(signal)) {
      // With deprecated `nodes` metadata apid reports per-node errors in-band.
      const err = data.metadata?.error;
      if (err) {
        const code = (data.metadata?.status?.code ?? Code.Unknown) as Code;
        if (code === Code.Canceled || code === Code.DeadlineExceeded) return;
        throw toTalosError(new ConnectError(err, code), {
          node: data.metadata?.hostname || this.node,
        });
      }
      if (data.bytes.length) yield data.bytes;
    }
  }

  /** A Node Readable that reads from the network only when it is read. */
  toNodeReadable(): Readable {
    return Readable.from(this, { objectMode: false, highWaterMark: 1 });
  }

  /** A web ReadableStream (pull-based). */
  toWebStream(): ReadableStream<Uint8Array> {
    const it = this[Symbol.asyncIterator]();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await it.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await it.return?.();
      },
    });
  }

  /** Reads the whole stream into one buffer. */
  async bytes(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const c of this) chunks.push(c);
    return Buffer.concat(chunks);
  }

  /** Reads the whole stream as UTF-8 text. */
  async text(): Promise<string> {
    return Buffer.from(await this.bytes()).toString("utf8");
  }
}

/** A machine event with its payload decoded. */
export interface DecodedEvent {
  /** Event ID (an xid; pass as tailId to resume). */
  id: string;
  /** ID of the action that caused it, when any. */
  actorId: string;
  /** The payload's type, e.g. "machine.SequenceEvent". */
  type: string;
  /** The decoded payload, or undefined when its type is unknown to this client. */
  payload: Message | undefined;
  /** The raw event. */
  event: MachineEvent;
}

/**
 * Whether an event is the "hello" machined sends first on every Events stream
 * to say the stream has started: it carries an ID of its own but a payload
 * with no type URL and no bytes. Every real event names its payload type.
 */
export function isHelloEvent(event: MachineEvent): boolean {
  return !event.data?.typeUrl && !event.data?.value.length;
}

/** Decodes an event's Any payload (type URL `talos/runtime/<type>`). */
export function decodeEvent(event: MachineEvent): DecodedEvent {
  const url = event.data?.typeUrl ?? "";
  const type = url.slice(url.lastIndexOf("/") + 1);
  let payload: Message | undefined;
  if (event.data && type) {
    try {
      payload = anyUnpack(event.data, apiRegistry);
    } catch {
      payload = undefined;
    }
  }
  return { id: event.id, actorId: event.actorId, type, payload, event };
}

type Init<T> = Partial<Omit<T, "$typeName" | "$unknown">>;

/** Source of bytes for uploads. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

async function* chunked(source: ByteSource, size = 1024 * 1024): AsyncGenerator<Uint8Array> {
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    for (let i = 0; i < chunk.length; i += size) yield chunk.subarray(i, i + size);
  }
}

/** The streaming calls of the machine API with convenient shapes. */
export class Streams {
  constructor(private readonly scope: NodeScope) {}

  private bytes(
    options: TalosCallOptions | undefined,
    call: (
      machine: ReturnType<NodeScope["services"]>["machine"],
      o: CallOptions,
    ) => AsyncIterable<Data>,
  ): ByteStream {
    const opts = options ?? {};
    const machine = this.scope.services(opts.node).machine;
    return new ByteStream(
      (signal) => call(machine, callOptionsOf({ ...opts, signal })),
      opts.signal,
      opts.node,
    );
  }

  /** Service or container logs (`follow` keeps the stream open). */
  logs(request: Init<LogsRequest>, options?: TalosCallOptions): ByteStream {
    return this.bytes(options, (m, o) => m.logs(request, o));
  }

  /** Kernel messages. */
  dmesg(request: Init<DmesgRequest> = {}, options?: TalosCallOptions): ByteStream {
    return this.bytes(options, (m, o) => m.dmesg(request, o));
  }

  /** A file's contents. */
  read(path: string, options?: TalosCallOptions): ByteStream {
    return this.bytes(options, (m, o) => m.read({ path }, o));
  }

  /** A tar.gz archive of a directory. */
  copy(rootPath: string, options?: TalosCallOptions): ByteStream {
    return this.bytes(options, (m, o) => m.copy({ rootPath }, o));
  }

  /** A tar.gz archive holding the admin kubeconfig. */
  kubeconfig(options?: TalosCallOptions): ByteStream {
    return this.bytes(options, (m, o) => m.kubeconfig({}, o));
  }

  /** An etcd snapshot (control-plane nodes). */
  etcdSnapshot(options?: TalosCallOptions): ByteStream {
    return this.bytes(options, (m, o) => m.etcdSnapshot({}, o));
  }

  /**
   * Machine events with decoded payloads. The "hello" each node sends first (a
   * fresh ID and a payload with neither type nor bytes) is skipped; a node's
   * failure reported in-band (deprecated `nodes` metadata) is thrown. Leaving
   * the loop ends the stream on the node.
   */
  async *events(
    request: Init<EventsRequest> = {},
    options: TalosCallOptions = {},
  ): AsyncGenerator<DecodedEvent> {
    const own = ownSignal(options.signal);
    try {
      const machine = this.scope.services(options.node).machine;
      for await (const event of machine.events(
        request,
        callOptionsOf({ ...options, signal: own.signal }),
      )) {
        const err = event.metadata?.error;
        if (err) {
          const code = (event.metadata?.status?.code ?? Code.Unknown) as Code;
          throw toTalosError(new ConnectError(err, code), {
            node: event.metadata?.hostname || options.node,
          });
        }
        if (isHelloEvent(event)) continue;
        yield decodeEvent(event);
      }
    } finally {
      own.release();
    }
  }

  /** Uploads an etcd snapshot to recover from (client streaming). */
  etcdRecover(snapshot: ByteSource, options: TalosCallOptions = {}): Promise<EtcdRecoverResponse> {
    const messages = (async function* () {
      for await (const bytes of chunked(snapshot)) yield { bytes };
    })();
    return this.scope.services(options.node).machine.etcdRecover(messages, callOptionsOf(options));
  }

  /** Imports an image tarball into a containerd instance (client streaming). */
  importImage(
    tarball: ByteSource,
    containerd: { driver?: ContainerDriver; namespace?: ContainerdNamespace },
    options: TalosCallOptions = {},
  ): Promise<ImageServiceImportResponse> {
    const messages = (async function* () {
      yield { request: { case: "containerd" as const, value: containerd } };
      for await (const bytes of chunked(tarball)) {
        yield { request: { case: "imageChunk" as const, value: { bytes } } };
      }
    })();
    return this.scope.services(options.node).image.import(messages, callOptionsOf(options));
  }
}
