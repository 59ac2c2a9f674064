// Progress of long work (downloads, image pulls) on stderr. On a terminal one
// line is redrawn in place; elsewhere (a pipe, a file, CI logs) updates print
// nothing and only milestones and the final line are written, so that logs
// stay readable.

/** Where progress goes. */
export interface ProgressIO {
  stderr: (text: string) => void;
  /** Whether stderr is a terminal. */
  isTTY?: boolean;
}

/** A progress line on stderr. */
export interface Progress {
  /**
   * `done` of `total` units (bytes by default), after `label` when given (the
   * bar's own otherwise); redraws on a terminal when the text changes.
   */
  update(done: number, total?: number, label?: string): void;
  /** A line of its own (a step, a milestone): clears the bar on a terminal, printed everywhere. */
  line(text: string): void;
  /** Ends the bar: clears it on a terminal and prints `text` (if any) as a line. */
  finish(text?: string): void;
}

const MiB = 1048576;

/** A text progress bar: `[=====>     ]  45% 12.0/26.5 MiB`; without a total, what came so far. */
export function progressLine(received: number, total: number | undefined): string {
  const mib = (n: number) => (n / MiB).toFixed(1);
  if (!total) return `${mib(received)} MiB`;
  const ratio = Math.min(Math.max(received / total, 0), 1);
  const width = 30;
  const filled = Math.round(ratio * width);
  const bar = `${"=".repeat(Math.max(filled - 1, 0))}${filled > 0 ? ">" : ""}`.padEnd(width);
  return `[${bar}] ${String(Math.round(ratio * 100)).padStart(3)}% ${mib(received)}/${mib(total)} MiB`;
}

/**
 * A progress bar on `io.stderr` labelled `label`; `format` turns a count into
 * text (progressLine by default).
 */
export function progressBar(
  io: ProgressIO,
  label = "",
  format: (done: number, total: number | undefined) => string = progressLine,
): Progress {
  let shown = "";
  const clear = () => {
    if (shown) io.stderr("\r\x1b[K");
    shown = "";
  };
  return {
    update(done, total, prefix = label) {
      if (!io.isTTY) return;
      const text = `${prefix}${format(done, total)}`;
      if (text === shown) return;
      io.stderr(`\r\x1b[K${text}`);
      shown = text;
    },
    line(text) {
      clear();
      io.stderr(`${text}\n`);
    },
    finish(text) {
      clear();
      if (text !== undefined) io.stderr(`${text}\n`);
    },
  };
}
