// How many generated cases each differential family runs, and from which seed.
// CI runs a fixed seed, so a run is reproducible and its verdict does not depend on
// chance; CONFORMANCE_SEED=<n> replays another seed and CONFORMANCE_SEED=random
// explores new cases (each failure prints the seed that found it).

/** Generated cases per family (CONFORMANCE_RUNS, default 10,000). */
export const RUNS = Number(process.env.CONFORMANCE_RUNS ?? 10000);

const seed = process.env.CONFORMANCE_SEED ?? "42";

/** fast-check parameters for the seed: none for a random run. */
export const SEED_PARAMETERS: { seed?: number } = seed === "random" ? {} : { seed: Number(seed) };
