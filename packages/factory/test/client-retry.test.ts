// The factory client's retries, through @taloskit/core's retry loop: idempotent
// requests are tried again on network errors and 5xx, POSTs never, and an abort
// during a backoff sleep ends the request at once.
import { describe, expect, it } from "vitest";
import { FactoryClient, type FactoryClientOptions, FactoryError } from "../src/index.js";

const VERSIONS = JSON.stringify(["v1.13.0", "v1.14.0"]);

/** A fetch that answers with `statuses` in turn (then 200), counting the calls. */
function scripted(statuses: (number | "network")[]) {
  const calls: string[] = [];
  const fetch: FactoryClientOptions["fetch"] = async (input, init) => {
    calls.push(`${init?.method} ${String(input)}`);
    const next = statuses.shift() ?? 200;
    if (next === "network") throw new TypeError("fetch failed");
    return new Response(next === 200 ? VERSIONS : "try later", { status: next });
  };
  return { calls, fetch };
}

async function failure(promise: Promise<unknown>): Promise<FactoryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FactoryError);
  return error as FactoryError;
}

const quick = { baseUrl: "https://factory.example", cache: false as const };

describe("factory client retries", () => {
  it("tries an idempotent request again after 5xx and network errors, with backoff", async () => {
    const { calls, fetch } = scripted([503, "network"]);
    const retried: [number, number, string][] = [];
    const client = new FactoryClient({
      ...quick,
      fetch,
      backoff: { baseDelayMs: 4, maxDelayMs: 4 },
      onRetry: (attempt, delayMs, error) => retried.push([attempt, delayMs, error.code]),
    });
    expect(await client.versions()).toEqual(["v1.13.0", "v1.14.0"]);
    expect(calls).toHaveLength(3);
    expect(retried.map(([attempt, , code]) => [attempt, code])).toEqual([
      [1, "FACTORY_SERVER_ERROR"],
      [2, "FACTORY_NETWORK"],
    ]);
    for (const [, delayMs] of retried) expect(delayMs).toBeLessThanOrEqual(4);
  });

  it("gives up after `retries` extra attempts with the last error", async () => {
    const { calls, fetch } = scripted([500, 500, 502]);
    const client = new FactoryClient({ ...quick, fetch, retries: 2, backoff: { maxDelayMs: 1 } });
    const error = await failure(client.versions());
    expect(error.code).toBe("FACTORY_SERVER_ERROR");
    expect(error.status).toBe(502);
    expect(calls).toHaveLength(3);
  });

  it("never retries a POST, nor an answer that is not transient", async () => {
    const post = scripted([500]);
    const client = new FactoryClient({ ...quick, fetch: post.fetch, backoff: { maxDelayMs: 1 } });
    expect((await failure(client.createSchematic({}))).code).toBe("FACTORY_SERVER_ERROR");
    expect(post.calls).toEqual(["POST https://factory.example/schematics"]);
    const missing = scripted([404]);
    const other = new FactoryClient({ ...quick, fetch: missing.fetch });
    expect((await failure(other.versions())).code).toBe("FACTORY_NOT_FOUND");
    expect(missing.calls).toHaveLength(1);
  });

  it("an abort during the backoff sleep ends the request at once", async () => {
    const { calls, fetch } = scripted([503, 503]);
    const controller = new AbortController();
    const client = new FactoryClient({
      ...quick,
      fetch,
      // A sleep of up to ten minutes: the test only ends in time if the abort cuts it.
      backoff: { baseDelayMs: 600_000, maxDelayMs: 600_000 },
      onRetry: () => setTimeout(() => controller.abort(), 5),
    });
    const error = await failure(client.versions({ signal: controller.signal }));
    expect(error.code).toBe("FACTORY_ABORTED");
    expect(calls).toHaveLength(1);
  });
});
