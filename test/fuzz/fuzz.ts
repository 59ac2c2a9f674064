// Shared pieces of the project's own fuzzing (fast-check property tests of
// every public parser and builder that does not read YAML). Runs use a fixed
// seed, so a failure reproduces; FUZZ_SEED=<n> replays another seed,
// FUZZ_SEED=random explores, FUZZ_RUNS=<n> sets the cases per property.
import { TalosError } from "@taloskit/core";
import fc from "fast-check";

const seed = process.env.FUZZ_SEED ?? "42";

/** fast-check parameters of every property: the number of runs and the seed. */
export const FUZZ: { numRuns: number; seed?: number } = {
  numRuns: Number(process.env.FUZZ_RUNS ?? 200),
  ...(seed === "random" ? {} : { seed: Number(seed) }),
};

/** Names of built-in object members, the keys that break plain-object lookups. */
export const OBJECT_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupSetter__",
] as const;

/** Text with control characters, odd Unicode and object-member names mixed in. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...OBJECT_KEYS, "", " ", "\n", "\r\n", "\0", "\u2028", "\ufeff", "\ud800", "zz"),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom(
      "\0",
      "\t",
      "\n",
      "\r",
      "\x1b",
      "\x7f",
      "[",
      "]",
      ":",
      '"',
      " ",
      "a",
      "0",
    ),
    maxLength: 30,
  }),
);

/** Any JSON-like value, keys included from {@link OBJECT_KEYS}. */
export const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...OBJECT_KEYS), nastyString), tie("value"), {
      maxKeys: 3,
    }),
  ),
})).value;

/** A JSON text nested `depth` levels deep (arrays, or objects under `key`). */
export function deepJson(depth: number, key?: string): string {
  return key === undefined
    ? `${"[".repeat(depth)}${"]".repeat(depth)}`
    : `${`{"${key}":`.repeat(depth)}1${"}".repeat(depth)}`;
}

/** Replaces the field named `field` of a sample (a path of keys) with `value`. */
export function withField(sample: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(sample) ? [...sample] : { ...(sample as object) }) as Record<
    string | number,
    unknown
  >;
  Object.defineProperty(copy, head, {
    value: withField(copy[head], rest, value),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

/** Every path to a field of a sample (objects and lists), the root excluded. */
export function fieldPaths(
  sample: unknown,
  prefix: (string | number)[] = [],
): (string | number)[][] {
  if (typeof sample !== "object" || sample === null) return [];
  return Object.entries(sample).flatMap(([k, v]) => {
    const path = [...prefix, Array.isArray(sample) ? Number(k) : k];
    return [path, ...fieldPaths(v, path)];
  });
}

/**
 * Runs a parser: a result, or a TalosError of the expected class (with a
 * message that names `names` when given). Any other throw fails the property.
 */
export function typedOrValid<T, E extends TalosError = TalosError>(
  run: () => T,
  errorClass: abstract new (...args: never[]) => E = TalosError as never,
  names?: string,
): T | E {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof errorClass)) {
      throw new Error(`untyped error: ${String((error as Error)?.stack ?? error)}`);
    }
    if (names !== undefined && !error.message.includes(names)) {
      throw new Error(`the error does not name "${names}": ${error.message}`);
    }
    // Messages quote input only in short pieces.
    if (error.message.length > 2000) {
      throw new Error(`error message of ${error.message.length} characters`);
    }
    return error;
  }
}
