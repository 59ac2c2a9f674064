// ImageService: pulls with layer progress, the image list, and Import of an
// image tarball (an upload whose name derives from its content).
import * as grpc from "@grpc/grpc-js";
import type { NodeFaults } from "../faults.js";
import { status } from "../grpc.js";
import type { CallContext, ClientStreamImpl, Impls, Send, ServerStreamImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import type { UploadLog } from "../uploads.js";
import { timestamp } from "../util.js";

const { status: S } = grpc;
const I = "/machine.ImageService/";

/** What ImageService uses of a node. */
export interface ImageHost {
  readonly state: Pick<SimNodeState, "images">;
  readonly faults: Pick<NodeFaults, "failPull">;
  readonly uploads: UploadLog;
}

/** Image name for an imported tarball, derived from its content so that equal uploads get equal names. */
function importedName(sha256: string): string {
  return `import.sim.local/image@sha256:${sha256}`;
}

/** Pull, List and Import. */
export function imageImpls(node: ImageHost): Impls {
  const st = node.state;
  return {
    [`${I}Pull`]: (async (req: { imageRef: string }, _ctx: CallContext, send: Send) => {
      if (!req.imageRef) throw status(S.INVALID_ARGUMENT, "image reference is required");
      if (node.faults.failPull !== null)
        throw status(
          S.NOT_FOUND,
          `failed to pull image ${JSON.stringify(req.imageRef)}: ${node.faults.failPull || "not found"}`,
        );
      for (const layer of ["sha256:1a2b", "sha256:3c4d"]) {
        for (const offset of [0n, 512n, 1024n]) {
          await send({
            response: {
              case: "pullProgress",
              value: {
                layerId: layer,
                progress: { status: offset === 1024n ? 1 : 0, offset, total: 1024n },
              },
            },
          });
        }
      }
      st.images.add(req.imageRef);
      await send({ response: { case: "name", value: req.imageRef } });
    }) as ServerStreamImpl,
    [`${I}List`]: (async (_req: unknown, _ctx: CallContext, send: Send) => {
      for (const name of st.images)
        await send({ name, digest: "sha256:0000", size: 1024n, createdAt: timestamp() });
    }) as ServerStreamImpl,
    [`${I}Import`]: (async (
      reqs: AsyncIterable<{ request: { case: string | undefined; value?: unknown } }>,
      ctx: CallContext,
    ) => {
      let index = 0;
      const got = await node.uploads.receive(
        ctx.signal,
        (async function* () {
          for await (const r of reqs) {
            const first = index++ === 0;
            if (first && r.request.case !== "containerd")
              throw status(
                S.INVALID_ARGUMENT,
                "the first message must name the containerd instance",
              );
            if (r.request.case === "imageChunk")
              yield (r.request.value as { bytes: Uint8Array }).bytes;
            else if (!first)
              throw status(S.INVALID_ARGUMENT, "only image chunks may follow the first message");
          }
        })(),
      );
      if (got.bytes === 0) throw status(S.INVALID_ARGUMENT, "the image tarball is empty");
      const name = importedName(got.sha256);
      st.images.add(name);
      node.uploads.complete({ rpc: "Import", ...got, image: name });
      return { name };
    }) as ClientStreamImpl,
  };
}
