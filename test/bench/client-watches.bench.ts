// Benchmark: many COSI watches held open in one client. The replay server (a
// node:http2 server in a child process) keeps every cosi State.Watch stream
// open and sends one event every TRICKLE_MS to the next watch in turn (events
// trickling over many quiet watches). The client opens watches up to 100, 500
// and 1,000 (client.at(node).cosi.watch, each on its own node's metadata,
// all on one HTTP/2 connection), waits until every open watch has received an
// event, and measures the memory it holds per watch against the same client
// with no watch open (the baseline, measured in the same run, after a GC).
// Goal: memory linear in the number of watches (the memory per watch at each
// level within 1.5x of the others).
//
// Environment: BENCH_WATCHES (default "100,500,1000"), BENCH_TRICKLE_MS (default 1).

import { TalosClient } from "@taloskit/client";
import { pollUntil } from "@taloskit/core";
import { fmt, MiB, nodeAddresses, startReplayChild, verdict } from "./helpers.js";

const LEVELS = (process.env.BENCH_WATCHES ?? "100,500,1000").split(",").map(Number);
const TRICKLE_MS = Number(process.env.BENCH_TRICKLE_MS ?? 1);
const MAX = Math.max(...LEVELS);
const nodes = nodeAddresses(MAX);

const server = await startReplayChild({ readBytes: 0, delayMs: 0, trickleMs: TRICKLE_MS });
const { info } = server;
const client = TalosClient.connect({ endpoints: [info.endpoint], ...info });
const stop = new AbortController();
const events: number[] = [];
const running: Promise<void>[] = [];

function openWatch(i: number): void {
  events[i] = 0;
  const stream = client
    .at(nodes[i] ?? "")
    .cosi.watch(
      { namespace: "runtime", type: "Services.v1alpha1.talos.dev", apiVersion: 1 },
      { signal: stop.signal },
    );
  running.push(
    (async () => {
      try {
        for await (const msg of stream) events[i] = (events[i] ?? 0) + msg.event.length;
      } catch (error) {
        if (!stop.signal.aborted) throw error;
      }
    })(),
  );
}

interface Memory {
  heap: number;
  external: number;
  rss: number;
}
function memory(): Memory {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external + m.arrayBuffers, rss: m.rss };
}

try {
  if (!globalThis.gc) throw new Error("run with --expose-gc (pnpm bench does)");
  console.log(
    `cosi State.Watch held open, ${LEVELS.join("/")} watches in one client over one connection; one event every ${TRICKLE_MS} ms round-robin (replay server in a child process)`,
  );
  // Open the connection first: the baseline is a client that is connected.
  await client.at("10.5.0.1").machine.version({});
  const base = memory();
  const perWatch: number[] = [];
  for (const level of LEVELS) {
    const t0 = performance.now();
    for (let i = events.length; i < level; i++) openWatch(i);
    await pollUntil(
      async () => {
        const { watches } = await server.ask<{ watches: number }>("stats");
        return watches === level && events.every((n) => n > 0) ? true : undefined;
      },
      { intervalMs: 50, timeoutMs: 120_000, what: `${level} watches open with an event each` },
    );
    const opened = performance.now() - t0;
    const m = memory();
    const heap = (m.heap + m.external - base.heap - base.external) / level;
    perWatch.push(heap);
    console.log(
      `${level} watches: every one open on the server with an event received (${fmt(opened, 0)} ms); client heap + buffers ${fmt(heap / 1024, 1)} KiB/watch, RSS ${fmt((m.rss - base.rss) / level / 1024, 1)} KiB/watch over the client with none (${fmt((m.heap - base.heap) / MiB, 1)} MiB heap, ${fmt((m.rss - base.rss) / MiB, 1)} MiB RSS in all)`,
    );
  }
  const ratio = Math.max(...perWatch) / Math.min(...perWatch);
  console.log(
    `ratio of memory per watch, largest/smallest over ${LEVELS.join("/")} watches: ${fmt(ratio, 2)}x; ${verdict(ratio <= 1.5, "linear (<= 1.5x)")}`,
  );
  if (events.length !== MAX) throw new Error(`opened ${events.length} watches, expected ${MAX}`);
} finally {
  stop.abort();
  await Promise.allSettled(running);
  client.close();
  await server.close();
}
