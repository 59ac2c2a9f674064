// Small helpers the simulator's services share: sleeps and protobuf time values.
import type { Timestamp } from "@bufbuild/protobuf/wkt";

/** Waits `ms`, or less when `signal` fires (it resolves then, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A protobuf Timestamp of `ms` since the epoch (now by default). */
export function timestamp(ms = Date.now()): Timestamp {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 } as Timestamp;
}

/** Milliseconds of a protobuf Duration (seconds and nanos). */
export function durationMs(d: { seconds: bigint; nanos: number }): number {
  return Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
}

/**
 * Items pushed by one side and taken in order by a stream on the other. Waiting for
 * the next item leaves no listener on the signal behind: a long stream would pile them up.
 */
export class WakeQueue<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  /** Yields items as they come until `signal` aborts. */
  async *drain(signal: AbortSignal): AsyncGenerator<T> {
    while (!signal.aborted) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}
