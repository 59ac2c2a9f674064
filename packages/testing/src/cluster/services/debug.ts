// DebugService.ContainerRun: a debug container from an image on the node,
// running a few simulated commands over a bidirectional stream.
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { BidiImpl, CallContext, Impls, Send } from "../handlers.js";
import type { SimNodeState } from "../state.js";

const { status: S } = grpc;

/** What DebugService reads of a node. */
export interface DebugHost {
  readonly state: Pick<SimNodeState, "images">;
}

type DebugRequest = { request: { case: string | undefined; value?: unknown } };

/** Simulated output of a few commands in a debug container. */
async function runDebug(
  args: string[],
  input: AsyncIterator<DebugRequest>,
  send: Send,
  signal: AbortSignal,
): Promise<number> {
  const out = (text: string | Uint8Array) =>
    send({
      resp: {
        case: "stdoutData",
        value: typeof text === "string" ? Buffer.from(text) : text,
      },
    });
  const [cmd, ...rest] = args;
  switch (cmd) {
    case undefined:
    case "cat":
      // Echoes stdin until the client closes it or sends a signal.
      for (;;) {
        if (signal.aborted) return 130;
        const r = await input.next();
        if (r.done) return 0;
        const req = r.value.request;
        if (req.case === "stdinData") await out(req.value as Uint8Array);
        else if (req.case === "signal") return 128 + Number(req.value);
      }
    case "echo":
      await out(`${rest.join(" ")}\n`);
      return 0;
    case "true":
      return 0;
    case "false":
      return 1;
    case "exit":
      return Number(rest[0] ?? 0) & 0xff;
    default:
      await out(`sh: ${cmd}: not found\n`);
      return 127;
  }
}

/** ContainerRun. */
export function debugImpls({ state: st }: DebugHost): Impls {
  return {
    "/machine.DebugService/ContainerRun": (async (
      reqs: AsyncIterable<DebugRequest>,
      ctx: CallContext,
      send: Send,
    ) => {
      const it = reqs[Symbol.asyncIterator]();
      const first = await it.next();
      const spec =
        !first.done && first.value.request.case === "spec"
          ? (first.value.request.value as { imageName: string; args: string[] })
          : undefined;
      if (!spec) throw status(S.INVALID_ARGUMENT, "the first message must be the container spec");
      if (!spec.imageName) throw status(S.INVALID_ARGUMENT, "image name is required");
      if (!st.images.has(spec.imageName))
        throw status(S.NOT_FOUND, `image ${JSON.stringify(spec.imageName)} not found`);
      const code = await runDebug(spec.args, it, send, ctx.signal);
      await send({ resp: { case: "exitCode", value: code } });
    }) as BidiImpl,
  };
}
