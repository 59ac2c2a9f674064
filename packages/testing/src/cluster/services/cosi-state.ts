// COSI's State service over the node's resources: Get, List and Watch (with
// the bootstrap and tail semantics of COSI's state server); writes are refused.
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { CallContext, Impls, Send, ServerStreamImpl, UnaryImpl } from "../handlers.js";
import type { ResourceChange, ResourceStore } from "../resources.js";
import { WakeQueue } from "../util.js";

const { status: S } = grpc;
const C = "/cosi.resource.State/";

/** What the State service reads of a node. */
export interface StateHost {
  readonly resources: ResourceStore;
}

interface WatchReq {
  namespace: string;
  type: string;
  id?: string;
  apiVersion: number;
  options?: { bootstrapContents: boolean; tailEvents: number };
}

function checkResourceAccess(
  resources: ResourceStore,
  namespace: string,
  type: string,
  ctx: CallContext,
): void {
  const t = resources.type(type);
  if (!t)
    throw status(S.PERMISSION_DENIED, `resource type ${JSON.stringify(type)} is not supported`);
  if (!resources.namespaces().includes(namespace))
    throw status(S.PERMISSION_DENIED, `namespace ${JSON.stringify(namespace)} is not supported`);
  if (t.sensitive && !ctx.roles.has("os:admin"))
    throw status(S.PERMISSION_DENIED, "not authorized");
}

async function watch(
  resources: ResourceStore,
  req: WatchReq,
  ctx: CallContext,
  send: Send,
): Promise<void> {
  checkResourceAccess(resources, req.namespace, req.type, ctx);
  const v1 = req.apiVersion >= 1;
  const queue = new WakeQueue<ResourceChange>();
  const unsubscribe = resources.subscribe((c) => {
    const md = c.resource.metadata;
    if (md?.namespace !== req.namespace || md.type !== req.type) return;
    if (req.id !== undefined && md.id !== req.id) return;
    queue.push(c);
  });
  const evType = { created: 0, updated: 1, destroyed: 2 } as const;
  try {
    // As COSI's state server: an empty response once the watch is set up, before any event.
    await send({ event: [] });
    if (req.id !== undefined) {
      const r = resources.get(req.namespace, req.type, req.id);
      if (r) await send({ event: [{ resource: r, eventType: 0 }] });
      else
        await send({
          event: [
            {
              resource: {
                metadata: {
                  namespace: req.namespace,
                  type: req.type,
                  id: req.id,
                  version: "0",
                  phase: "running",
                },
                spec: {},
              },
              eventType: 2,
            },
          ],
        });
    } else {
      const opts = req.options;
      if (opts?.bootstrapContents) {
        for (const r of resources.list(req.namespace, req.type))
          await send({ event: [{ resource: r, eventType: 0 }] });
        if (v1) await send({ event: [{ eventType: 3 }] });
      }
    }
    for await (const c of queue.drain(ctx.signal))
      await send({ event: [{ resource: c.resource, old: c.old, eventType: evType[c.kind] }] });
  } finally {
    unsubscribe();
  }
}

/** Get, List and Watch; Create, Update and the destroys refused. */
export function stateImpls({ resources }: StateHost): Impls {
  const impls: Impls = {
    [`${C}Get`]: ((req: { namespace: string; type: string; id: string }, ctx: CallContext) => {
      checkResourceAccess(resources, req.namespace, req.type, ctx);
      const r = resources.get(req.namespace, req.type, req.id);
      if (!r)
        throw status(
          S.NOT_FOUND,
          `resource ${req.type}(${req.namespace}/${req.id}@undefined) doesn't exist`,
        );
      return { resource: r };
    }) as UnaryImpl,
    [`${C}List`]: (async (
      req: { namespace: string; type: string },
      ctx: CallContext,
      send: Send,
    ) => {
      checkResourceAccess(resources, req.namespace, req.type, ctx);
      for (const r of resources.list(req.namespace, req.type)) await send({ resource: r });
    }) as ServerStreamImpl,
    [`${C}Watch`]: ((req: WatchReq, ctx: CallContext, send: Send) =>
      watch(resources, req, ctx, send)) as ServerStreamImpl,
  };
  for (const w of ["Create", "Update", "Destroy", "Teardown", "TeardownAndDestroy"]) {
    impls[`${C}${w}`] = () => {
      throw status(S.PERMISSION_DENIED, "write access is not allowed");
    };
  }
  return impls;
}
