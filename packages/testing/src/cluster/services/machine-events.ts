// MachineService.Events: the node's machine events, replayed from its buffer
// (by count, age or after an id) and then followed live.
import type { EventLog, StoredEvent } from "../events.js";
import { newEventId } from "../events.js";
import type { CallContext, Impls, Send, ServerStreamImpl } from "../handlers.js";
import { WakeQueue } from "../util.js";

/** What Events reads of a node. */
export interface EventsHost {
  readonly events: EventLog;
}

interface EventsRequest {
  tailEvents: number;
  tailId: string;
  tailSeconds: number;
  withActorId: string;
}

/** The buffered events a request asks to replay. */
function backlogOf(buffered: readonly StoredEvent[], req: EventsRequest): StoredEvent[] {
  // As machined: every event after that ID. IDs sort by time across reboots, so a
  // tracker resuming from an event of the previous boot gets the whole new boot.
  if (req.tailId) return buffered.filter((e) => e.id > req.tailId);
  if (req.tailSeconds > 0) {
    const since = Date.now() - req.tailSeconds * 1000;
    return buffered.filter((e) => e.time >= since);
  }
  if (req.tailEvents < 0) return [...buffered];
  if (req.tailEvents > 0) return buffered.slice(-req.tailEvents);
  return [];
}

async function streamEvents(
  log: EventLog,
  req: EventsRequest,
  ctx: CallContext,
  send: Send,
): Promise<void> {
  const queue = new WakeQueue<StoredEvent>();
  const unsubscribe = log.subscribe((e) => queue.push(e));
  const match = (e: StoredEvent) => !req.withActorId || e.actorId === req.withActorId;
  const toMsg = (e: StoredEvent) => ({ id: e.id, actorId: e.actorId, data: e.data });
  try {
    // As machined does: a "hello" first, with a fresh ID, the caller's actor ID and an empty Any.
    await send({
      id: newEventId(),
      actorId: req.withActorId,
      data: { typeUrl: "", value: new Uint8Array() },
    });
    const backlog = backlogOf(log.buffered(), req);
    const seen = new Set(backlog.map((e) => e.id));
    for (const e of backlog) if (match(e)) await send(toMsg(e));
    for await (const e of queue.drain(ctx.signal)) {
      if (seen.has(e.id) || !match(e)) continue;
      await send(toMsg(e));
    }
  } finally {
    unsubscribe();
  }
}

/** Events. */
export function eventsImpls(node: EventsHost): Impls {
  return {
    "/machine.MachineService/Events": ((req: EventsRequest, ctx: CallContext, send: Send) =>
      streamEvents(node.events, req, ctx, send)) as ServerStreamImpl,
  };
}
