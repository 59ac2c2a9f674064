// The simulator's shared helpers: sleeps that end with a signal, and protobuf time values.
import { describe, expect, it } from "vitest";
import { durationMs, sleep, timestamp } from "../src/cluster/util.js";

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
});
