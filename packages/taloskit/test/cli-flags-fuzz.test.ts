// Property tests of the CLI's flag parsers: any text gives a value or a
// FlagError (a TalosError) naming the flag, never a plain Error or a value
// that cannot be used (Infinity, NaN, a role taken from Object.prototype).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FUZZ,
  nastyString,
  nastyValue,
  OBJECT_KEYS,
  typedOrValid,
} from "../../../test/fuzz/fuzz.js";
import { parseSimNodes } from "../src/cli/commands/sim.js";
import { FlagError } from "../src/cli/errors.js";
import { parseDuration } from "../src/cli/globals.js";
import { parseOutputFormat } from "../src/cli/output.js";

describe("CLI flag parsers", () => {
  it("durations: a positive whole number of milliseconds within setTimeout's range, or a FlagError", () => {
    const duration = fc.oneof(
      nastyString,
      fc
        .array(
          fc.tuple(
            fc.oneof(
              fc.nat().map(String),
              fc.double({ min: 0, noNaN: true }).map(String),
              fc.constantFrom("9".repeat(400), "1e3", ""),
            ),
            fc.constantFrom("ms", "s", "m", "h", "d", "", "S"),
          ),
          { maxLength: 3 },
        )
        .map((parts) => parts.map(([n, u]) => n + u).join("")),
    );
    fc.assert(
      fc.property(duration, (text) => {
        const ms = typedOrValid(() => parseDuration(text), FlagError, "duration");
        if (typeof ms === "number") {
          expect(Number.isSafeInteger(ms) && ms >= 1 && ms <= 2 ** 31 - 1).toBe(true);
        }
      }),
      FUZZ,
    );
    // 400 nines of seconds used to come back as Infinity.
    expect(() => parseDuration(`${"9".repeat(400)}s`)).toThrow(FlagError);
    expect(() => parseDuration("30d")).toThrow(/invalid duration "30d"/);
    expect(() => parseDuration("1000h")).toThrow(/longer than 24 days/);
    expect(parseDuration("0.0001s")).toBe(1);
    expect(parseDuration("1m30s")).toBe(90_000);
  });

  it("output formats and simulated node lists", () => {
    fc.assert(
      fc.property(fc.oneof(nastyString, nastyValue), (value) => {
        typedOrValid(() => parseOutputFormat(value as string), FlagError, "output format");
        typedOrValid(() => parseSimNodes(value as string), FlagError, "--nodes");
      }),
      FUZZ,
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constantFrom("cp", "worker:v1.14.0", "m::p", ...OBJECT_KEYS), nastyString),
          { maxLength: 5 },
        ),
        (parts) => {
          typedOrValid(() => parseSimNodes(parts.join(",")), FlagError, "--nodes");
        },
      ),
      FUZZ,
    );
    // Role names are looked up as own entries: "constructor" is no role.
    for (const name of OBJECT_KEYS) {
      expect(() => parseSimNodes(name)).toThrow(FlagError);
    }
    expect(() => parseSimNodes(Array(254).fill("w").join(","))).toThrow(/at most 253 nodes/);
    expect(parseSimNodes(Array(253).fill("w").join(",")).at(-1)?.address).toBe("10.5.0.254");
  });
});
