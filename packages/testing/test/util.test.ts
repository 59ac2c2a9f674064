// The simulator's shared helpers: sleeps that end with a signal, protobuf time values, and
// the queue its watch and event streams wait on.
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { durationMs, sleep, timestamp, WakeQueue } from "../src/cluster/util.js";

describe("cluster util", () => {
  it("sleep ends when the signal fires, and at once for an aborted signal or no time", async () => {
    const controller = new AbortController();
    const slept = sleep(600_000, controller.signal);
    controller.abort();
    await slept;
    await sleep(600_000, controller.signal);
    await sleep(0);
  });

  it("timestamp and durationMs convert milliseconds", () => {
    expect(timestamp(1_700_000_123_456)).toEqual({ seconds: 1_700_000_123n, nanos: 456_000_000 });
    expect(durationMs({ seconds: 90n, nanos: 250_000_000 })).toBe(90_250);
    expect(durationMs({ seconds: 0n, nanos: 0 })).toBe(0);
  });

  it("WakeQueue yields items in order while a stream waits, leaving no abort listeners behind", async () => {
    const queue = new WakeQueue<number>();
    const ac = new AbortController();
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const n of queue.drain(ac.signal)) seen.push(n);
    })();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setImmediate(r)); // the consumer is waiting again
      expect(getEventListeners(ac.signal, "abort").length).toBeLessThanOrEqual(1);
      queue.push(i);
    }
    await new Promise((r) => setImmediate(r));
    ac.abort();
    await consumer;
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
