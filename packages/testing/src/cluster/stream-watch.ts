// Observation of a node's open server streams, for tests that check a client
// frees the server side of a stream: how many are open per RPC, and a wait for
// them to end (completed, failed or cancelled by the client) with a deadline.
import { EventEmitter } from "node:events";

/** The part of a grpc-js server call the watch listens to. */
interface WatchedCall {
  once(event: "close", listener: () => void): unknown;
}

/** Open server streams of one node, per RPC path ("/pkg.Service/Method"). */
export class ServerStreamWatch {
  private readonly open = new Map<string, number>();
  private readonly changes = new EventEmitter();

  constructor() {
    this.changes.setMaxListeners(0);
  }

  /** Counts `call` as open until its stream closes (status sent, or the client cancelled). */
  track(call: WatchedCall, path: string): void {
    this.open.set(path, (this.open.get(path) ?? 0) + 1);
    call.once("close", () => {
      const left = (this.open.get(path) ?? 1) - 1;
      if (left > 0) this.open.set(path, left);
      else this.open.delete(path);
      this.changes.emit("change");
    });
  }

  /** Server streams open now, of one RPC or of all. */
  count(path?: string): number {
    if (path !== undefined) return this.open.get(path) ?? 0;
    let n = 0;
    for (const v of this.open.values()) n += v;
    return n;
  }

  /** Resolves once at most `atMost` streams (of one RPC, or all) are open; rejects after `timeoutMs`. */
  waitOpen(path: string | undefined, atMost: number, timeoutMs: number): Promise<void> {
    if (this.count(path) <= atMost) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.count(path) > atMost) return;
        clearTimeout(timer);
        this.changes.off("change", check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changes.off("change", check);
        reject(
          new Error(
            `${this.count(path)} server stream(s)${path ? ` of ${path}` : ""} still open after ${timeoutMs} ms (wanted at most ${atMost})`,
          ),
        );
      }, timeoutMs);
      this.changes.on("change", check);
    });
  }
}
