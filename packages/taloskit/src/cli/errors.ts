// The error of a bad command-line flag value: a TalosError, like everything
// the CLI's parsers throw, so that callers and tests can tell it from a bug.
import { TalosError } from "@taloskit/core";

/** A flag value the CLI cannot use; the message names the flag. A {@link TalosError}. */
export class FlagError extends TalosError {
  override readonly name: string = "FlagError";
  declare readonly code: "INVALID_ARGUMENT";
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/** A flag value quoted in a message, cut to 80 characters (a value that is not text, by its type). */
export function quotedFlag(value: unknown): string {
  if (typeof value !== "string") return `(${value === null ? "null" : typeof value})`;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}
