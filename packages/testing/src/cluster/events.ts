// A node's machine events: the bounded buffer that Events replays from, and
// the bus that live subscribers follow.
import { EventEmitter } from "node:events";
import { create, type DescMessage } from "@bufbuild/protobuf";
import { type Any, anyPack } from "@bufbuild/protobuf/wkt";

/** A simulated Talos machine event as stored in the node's event buffer. */
export interface StoredEvent {
  id: string;
  actorId: string;
  time: number;
  data: Any;
}

/** Events kept for replay; machined keeps a bounded buffer too. */
const KEPT = 1000;

let xidCounter = 0;
/** A sortable 20-character event id in the spirit of an xid. */
export function newEventId(): string {
  xidCounter++;
  return (Date.now().toString(32) + xidCounter.toString(32).padStart(8, "0"))
    .padStart(20, "0")
    .slice(-20);
}

/** The events of one node. */
export class EventLog {
  private readonly events: StoredEvent[] = [];
  private readonly bus = new EventEmitter();

  constructor() {
    this.bus.setMaxListeners(0);
  }

  /** Publish a machine event with a `talos/runtime/` Any payload. */
  publish<D extends DescMessage>(schema: D, init: Record<string, unknown>, actorId = ""): void {
    const any = anyPack(schema, create(schema, init as never));
    any.typeUrl = `talos/runtime/${schema.typeName}`;
    const ev: StoredEvent = { id: newEventId(), actorId, time: Date.now(), data: any };
    this.events.push(ev);
    if (this.events.length > KEPT) this.events.shift();
    this.bus.emit("event", ev);
  }

  /** Forget every event (a new boot starts a new buffer). */
  clear(): void {
    this.events.length = 0;
  }

  /** The buffered events, oldest first. */
  buffered(): readonly StoredEvent[] {
    return this.events;
  }

  /** Calls `listener` for each event published from now on; returns the unsubscribe. */
  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.bus.on("event", listener);
    return () => this.bus.off("event", listener);
  }
}
