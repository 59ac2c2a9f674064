// Colours on the CLI's output: only where the stream is a terminal and NO_COLOR
// is unset or empty (https://no-color.org), so that pipes, files and scripts
// get plain text. The program sets them once per run (see program.ts).

/** Whether stdout and stderr take colours in this run. */
export interface Colours {
  stdout: boolean;
  stderr: boolean;
}

let current: Colours = { stdout: false, stderr: false };

/** The colours of a process with these terminals and this environment. */
export function coloursFor(
  tty: { stdout: boolean; stderr: boolean },
  env: Record<string, string | undefined>,
): Colours {
  const allowed = !env.NO_COLOR && env.TERM !== "dumb";
  return { stdout: allowed && tty.stdout, stderr: allowed && tty.stderr };
}

/** Sets the colours of this run; returns the previous ones (to restore). */
export function setColours(colours: Colours): Colours {
  const before = current;
  current = colours;
  return before;
}

const style = (open: string, close: string) => (text: string, stream: keyof Colours) =>
  current[stream] && text ? `\x1b[${open}m${text}\x1b[${close}m` : text;

/** Bold text (table headers), when `stream` takes colours. */
export const bold = style("1", "22");
/** Red text (errors), when `stream` takes colours. */
export const red = style("31", "39");
