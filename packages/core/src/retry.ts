// The one retry and polling policy of taloskit: exponential backoff with full
// jitter for calls that may be repeated, and fixed-interval polling for waits.
// Both stop on an abort signal and on a deadline, and say which one stopped them.
import { TalosError } from "./errors.js";

/** How often and how fast a failed operation is tried again. */
export interface BackoffPolicy {
  /** Attempts in total, the first one included (1 means no retry). */
  attempts: number;
  /** Backoff before the second attempt, doubled for each further one. */
  baseDelayMs: number;
  /** Upper bound of one backoff sleep. */
  maxDelayMs: number;
}

/**
 * The sleep after attempt `attempt` (1-based) failed: full jitter, a uniform
 * draw between 0 and min(maxDelayMs, baseDelayMs * 2^(attempt-1)), so that
 * many clients retrying at once spread out instead of hitting a recovering
 * server together.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<BackoffPolicy, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** What a retry loop is told, and asks, about each failure. */
export interface RetryLoop<E> {
  policy: BackoffPolicy;
  /** The error of a failed attempt as the loop reports it (e.g. typed); default: as thrown. */
  normalize?: (error: unknown) => E;
  /** Whether a failure may be tried again; false ends the loop with it. */
  shouldRetry: (error: E, attempt: number) => boolean;
  signal?: AbortSignal | undefined;
  /** Epoch milliseconds after which no attempt starts. */
  deadline?: number | undefined;
  /** Called before each backoff sleep. */
  onRetry?: ((attempt: number, delayMs: number, error: E) => void) | undefined;
  /** The error to throw when the signal fires during a backoff sleep. */
  aborted?: ((attempt: number, last: E) => unknown) | undefined;
  /** The error to throw when the next attempt could not start before the deadline. */
  expired?: ((attempt: number, last: E) => unknown) | undefined;
  /** The error to throw when the attempts are used up. */
  exhausted?: ((attempt: number, last: E) => unknown) | undefined;
  random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the policy, the
 * deadline or the signal say stop. `attempt` gets its 1-based number.
 */
export async function retry<T, E = unknown>(
  attempt: (n: number) => Promise<T>,
  loop: RetryLoop<E>,
): Promise<T> {
  for (let n = 1; ; n++) {
    let error: E;
    try {
      return await attempt(n);
    } catch (caught) {
      error = loop.normalize ? loop.normalize(caught) : (caught as E);
    }
    if (loop.signal?.aborted || !loop.shouldRetry(error, n)) throw error;
    if (n >= loop.policy.attempts) throw loop.exhausted ? loop.exhausted(n, error) : error;
    const delayMs = backoffDelay(n, loop.policy, loop.random);
    // No point sleeping past the deadline: the next attempt could not run.
    if (loop.deadline !== undefined && Date.now() + delayMs >= loop.deadline) {
      throw loop.expired ? loop.expired(n, error) : error;
    }
    loop.onRetry?.(n, delayMs, error);
    await sleep(delayMs, loop.signal).catch(() => {
      throw loop.aborted ? loop.aborted(n, error) : error;
    });
  }
}

/** How a wait polls. */
export interface PollOptions {
  /** Time between two checks. */
  intervalMs: number;
  /** Time after which the wait gives up (none by default). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** The error thrown on timeout; default: a DEADLINE_EXCEEDED TalosError naming `what`. */
  timedOut?: (() => unknown) | undefined;
  /** What is awaited, for the default timeout message ("node n1 Ready"). */
  what?: string | undefined;
}

/**
 * Calls `check` until it returns something other than undefined, waiting
 * `intervalMs` between calls. The caller's signal aborts with its reason;
 * the timeout with `timedOut()`.
 */
export async function pollUntil<T>(
  check: (signal: AbortSignal) => Promise<T | undefined>,
  options: PollOptions,
): Promise<T> {
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  const timer =
    options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const signals = [options.signal, timer].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length ? AbortSignal.any(signals) : new AbortController().signal;
  const timeout = () =>
    options.timedOut
      ? options.timedOut()
      : new TalosError(
          "DEADLINE_EXCEEDED",
          `${options.what ?? "the wait"} did not happen within ${options.timeoutMs} ms`,
        );
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (deadline !== undefined && Date.now() >= deadline) throw timeout();
    const found = await check(signal).catch((error) => {
      if (options.signal?.aborted) throw options.signal.reason;
      if (timer?.aborted) throw timeout();
      throw error;
    });
    if (found !== undefined) return found;
    await sleep(options.intervalMs, signal).catch(() => undefined);
  }
}
