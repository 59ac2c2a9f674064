import {
  atLeastMinor,
  backoffDelay,
  compareMinors,
  compareVersions,
  completeVersion,
  minorLine,
  minorOf,
  parseTalosVersion,
  pollUntil,
  retry,
  TalosError,
  tryParseTalosVersion,
  versionTag,
} from "@taloskit/core";
import { describe, expect, it } from "vitest";

describe("versions", () => {
  it("parses tags with and without v, prereleases and Talos dev builds", () => {
    expect(parseTalosVersion("v1.14.2")).toMatchObject({
      major: 1,
      minor: 14,
      patch: 2,
      tag: "v1.14.2",
    });
    expect(parseTalosVersion("1.15.0-alpha.1").tag).toBe("v1.15.0-alpha.1");
    expect(tryParseTalosVersion("v1.14.0-alpha.1-31-g1234567-dirty")?.prerelease).toBe(
      "alpha.1-31-g1234567-dirty",
    );
    expect(tryParseTalosVersion("1.14")).toBeUndefined();
    expect(tryParseTalosVersion("latest")).toBeUndefined();
    expect(versionTag("1.10.2")).toBe("v1.10.2");
  });

  it("refuses what is not a version with a typed error that quotes it", () => {
    const err = (() => {
      try {
        parseTalosVersion("latest", "target version");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TalosError);
    expect((err as TalosError).code).toBe("INVALID_ARGUMENT");
    expect((err as TalosError).message).toContain('target version "latest"');
    expect(() => minorOf("x1.2")).toThrow(TalosError);
    expect(() => compareVersions("1.2.3", "nope")).toThrow(TalosError);
  });

  it("orders versions as semver, prereleases before their release", () => {
    const sorted = [
      "v1.14.0",
      "1.13.9",
      "v1.14.0-beta.1",
      "v1.14.0-alpha.2",
      "1.14.0-alpha.10",
    ].sort(compareVersions);
    expect(sorted).toEqual([
      "1.13.9",
      "v1.14.0-alpha.2",
      "1.14.0-alpha.10",
      "v1.14.0-beta.1",
      "v1.14.0",
    ]);
  });

  it("reduces versions and minors to their minor line", () => {
    expect(minorLine("v1.14")).toEqual({ major: 1, minor: 14 });
    expect(minorOf("1.14.0-alpha.1")).toBe("1.14");
    expect(compareMinors("1.13.9", "v1.14")).toBeLessThan(0);
    expect(atLeastMinor("v1.12.0-beta.0", "1.12")).toBe(true);
    expect(atLeastMinor("v1.11.9", "1.12")).toBe(false);
    expect(completeVersion("1.14")).toBe("v1.14.0");
    expect(completeVersion("v1.12.3-beta.1")).toBe("v1.12.3-beta.1");
    expect(() => completeVersion("latest")).toThrow(TalosError);
  });
});

describe("retry and polling", () => {
  it("draws full-jitter backoff within its doubling cap", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(10, policy, () => 0.999)).toBe(999);
  });

  it("retries what may be retried, up to the attempts, and reports each retry", async () => {
    const seen: number[] = [];
    let calls = 0;
    const value = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new Error("transient");
        return "ok";
      },
      {
        policy: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 },
        shouldRetry: () => true,
        onRetry: (n) => seen.push(n),
      },
    );
    expect(value).toBe("ok");
    expect(seen).toEqual([1, 2]);
    await expect(
      retry(async () => Promise.reject(new Error("fatal")), {
        policy: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 },
        shouldRetry: () => false,
      }),
    ).rejects.toThrow("fatal");
    await expect(
      retry(async () => Promise.reject(new Error("again")), {
        policy: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
        shouldRetry: () => true,
        exhausted: (n, last) => new Error(`gave up after ${n}: ${(last as Error).message}`),
      }),
    ).rejects.toThrow("gave up after 2: again");
  });

  it("polls until a value, and names what it waited for on timeout", async () => {
    let n = 0;
    await expect(
      pollUntil(async () => (++n >= 3 ? n : undefined), { intervalMs: 1 }),
    ).resolves.toBe(3);
    const err = await pollUntil(async () => undefined, {
      intervalMs: 5,
      timeoutMs: 20,
      what: "node n1 Ready",
    }).catch((e) => e);
    expect(err).toBeInstanceOf(TalosError);
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.message).toContain("node n1 Ready");
    const controller = new AbortController();
    const waiting = pollUntil(async () => undefined, { intervalMs: 5, signal: controller.signal });
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
  });
});
