// Waiting on a condition the test cannot await directly.

/** Waits until `cond()` holds, checking on each turn of the event loop (bounded by the test timeout). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
